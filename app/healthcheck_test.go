package app

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestHealthcheck: exit 0 when /readyz answers 200, 1 with the reasons when
// it answers 503 or nothing listens, 2 for a bad argument; an unspecified
// listen host is asked on loopback.
func TestHealthcheck(t *testing.T) {
	ready := true
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/readyz" {
			http.NotFound(w, r)
			return
		}
		if !ready {
			w.WriteHeader(http.StatusServiceUnavailable)
			w.Write([]byte(`{"slack":"not connected","store":"ok"}`))
			return
		}
		w.Write([]byte(`{"slack":"ok","store":"ok"}`))
	}))
	defer srv.Close()
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	env := map[string]string{"PALIGO_SLACK_LISTEN": "0.0.0.0:" + port}
	run := func(args ...string) (int, string) {
		var out, errs bytes.Buffer
		code := Run(context.Background(), append([]string{"healthcheck"}, args...), func(k string) string { return env[k] }, &out, &errs)
		return code, out.String() + errs.String()
	}
	if code, out := run(); code != 0 || !strings.Contains(out, `"slack":"ok"`) {
		t.Errorf("ready: exit %d %q", code, out)
	}
	ready = false
	if code, out := run(); code != 1 || !strings.Contains(out, "not connected") {
		t.Errorf("not ready: exit %d %q", code, out)
	}
	if code, _ := run(srv.URL + "/nope"); code != 1 {
		t.Errorf("a 404: exit %d", code)
	}
	srv.Close()
	if code, _ := run(); code != 1 {
		t.Errorf("nothing listening: exit %d", code)
	}
	env["PALIGO_SLACK_LISTEN"] = "no-port"
	if code, _ := run(); code != 2 {
		t.Errorf("a malformed listen address: exit %d", code)
	}
	if code, _ := run("a", "b"); code != 2 {
		t.Errorf("two URLs: exit %d", code)
	}
}
