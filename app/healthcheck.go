package app

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"
)

// runHealthcheck asks the running bot whether it is ready: GET /readyz on
// the listener PALIGO_SLACK_LISTEN names (an unspecified host is asked on
// loopback), or on the URL given. Exit 0 on 200, 1 otherwise (with the
// answer's reasons), 2 for a bad argument. Container images without a
// shell or curl use it as their health check.
func runHealthcheck(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	fl := flag.NewFlagSet("healthcheck", flag.ContinueOnError)
	fl.SetOutput(stderr)
	timeout := fl.Duration("timeout", 3*time.Second, "how long to wait for the answer")
	fl.Usage = func() {
		fmt.Fprint(fl.Output(), "Usage: paligo-slack healthcheck [--timeout 3s] [URL]\n\n"+
			"Exit 0 when the bot on PALIGO_SLACK_LISTEN (or at URL, such as\nhttp://127.0.0.1:8080/readyz) answers 200, else 1.\n\n")
		fl.PrintDefaults()
	}
	if err := fl.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return 0
		}
		return 2
	}
	u := fl.Arg(0)
	if fl.NArg() > 1 {
		fmt.Fprintln(stderr, "paligo-slack healthcheck: one URL at most")
		return 2
	}
	if u == "" {
		listen := getenv("PALIGO_SLACK_LISTEN")
		if listen == "" {
			listen = "127.0.0.1:8080"
		}
		host, port, err := net.SplitHostPort(listen)
		if err != nil {
			fmt.Fprintf(stderr, "paligo-slack healthcheck: PALIGO_SLACK_LISTEN: %v\n", err)
			return 2
		}
		if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
			host = "127.0.0.1"
		}
		u = "http://" + net.JoinHostPort(host, port) + "/readyz"
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		fmt.Fprintf(stderr, "paligo-slack healthcheck: %v\n", err)
		return 2
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		fmt.Fprintf(stderr, "paligo-slack healthcheck: %v\n", err)
		return 1
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
	if resp.StatusCode != http.StatusOK {
		fmt.Fprintf(stderr, "paligo-slack healthcheck: %s: %s\n", resp.Status, strings.TrimSpace(string(body)))
		return 1
	}
	fmt.Fprintln(stdout, strings.TrimSpace(string(body)))
	return 0
}
