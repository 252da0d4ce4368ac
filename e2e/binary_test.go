package e2e

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/paligo/paligo-slack/fakeslack"
	"github.com/paligo/paligo-slack/paligo"
)

// TestTheShippedBinary runs the binary as a deployment would: its
// `version`, then `run` against the fake Slack with only environment
// settings, an event through the ingest API to a channel, /readyz and the
// OpenAPI document, and SIGTERM. PALIGO_SLACK_BINARY names the binary to
// run (scripts/image --check sets it to the one extracted from the
// container image); without it the test builds one.
func TestTheShippedBinary(t *testing.T) {
	bin := os.Getenv("PALIGO_SLACK_BINARY")
	if bin == "" {
		bin = buildBinary(t)
	}
	out, err := exec.Command(bin, "version").CombinedOutput()
	if err != nil || !strings.HasPrefix(string(out), "paligo-slack ") || !strings.Contains(string(out), "(commit ") {
		t.Fatalf("%s version = %q, %v", bin, out, err)
	}

	fs := newFake(t, fakeslack.Options{Channels: []fakeslack.Channel{{ID: "C0ONE", Name: "one"}}})
	db := storeWithRoutes(t, map[paligo.Kind][]string{"run.failed": {"C0ONE"}})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	p := startProcess(t, bin, processEnv(fs, db))
	addr := p.listenAddr(t, ctx)

	// Ready once the store and Slack are.
	if err := poll(ctx, 20*time.Millisecond, func() bool {
		resp, err := http.Get("http://" + addr + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 200
	}); err != nil {
		t.Fatal("/readyz never answered 200")
	}
	if status, body := postEvents(t, addr, []any{event("shipped-1", "run.failed", map[string]any{"subject": subject("nightly", "Nightly build")})}); status != 202 {
		t.Fatalf("POST /v1/events = %d %v", status, body)
	}
	if err := poll(ctx, 10*time.Millisecond, func() bool { return len(fs.Messages("C0ONE")) == 1 }); err != nil {
		t.Fatalf("the event was not posted to #one: %d messages", len(fs.Messages("C0ONE")))
	}
	if !strings.Contains(fs.Messages("C0ONE")[0].Text, "Nightly build") {
		t.Errorf("posted %q", fs.Messages("C0ONE")[0].Text)
	}

	resp, err := http.Get("http://" + addr + "/v1/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	doc, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var openapi struct {
		OpenAPI string `json:"openapi"`
		Info    struct{ Version string }
	}
	if resp.StatusCode != 200 || json.Unmarshal(doc, &openapi) != nil || openapi.OpenAPI != "3.1.0" {
		t.Fatalf("GET /v1/openapi.json = %d %.200s", resp.StatusCode, doc)
	}
	if v := strings.Fields(string(out))[1]; openapi.Info.Version != v {
		t.Errorf("the document's info.version is %q, the binary's %q", openapi.Info.Version, v)
	}

	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-ctx.Done():
		t.Fatal("no exit after SIGTERM")
	}
	if p.err != nil {
		t.Errorf("SIGTERM exit: %v\n%s", p.err, p.logs.String())
	}
}
