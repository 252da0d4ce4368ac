package app

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

func envOf(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

var goodEnv = map[string]string{
	"SLACK_BOT_TOKEN": "xoxb-1-secretbot",
	"SLACK_APP_TOKEN": "xapp-1-secretapp",
}

func with(extra map[string]string) map[string]string {
	m := map[string]string{}
	for k, v := range goodEnv {
		m[k] = v
	}
	for k, v := range extra {
		m[k] = v
	}
	return m
}

func TestConfigDefaultsAndFlagsOverrideEnv(t *testing.T) {
	c, err := ParseConfig(nil, envOf(goodEnv), &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	if c.APIURL != "https://slack.com/api/" || c.DB != "paligo-slack.db" || c.Listen != "127.0.0.1:8080" || c.Retention != 30*24*time.Hour || c.Pprof != "" {
		t.Errorf("defaults = %+v", c)
	}
	for v, want := range map[string]time.Duration{"7d": 7 * 24 * time.Hour, "36h": 36 * time.Hour, "365d": 365 * 24 * time.Hour} {
		c, err := ParseConfig([]string{"--retention", v}, envOf(goodEnv), &bytes.Buffer{})
		if err != nil || c.Retention != want {
			t.Errorf("--retention %s = %v, %v; want %v", v, c.Retention, err, want)
		}
	}
	c, err = ParseConfig([]string{"--listen", ":9090", "--api-url", "http://127.0.0.1:1/api", "--admins", "U012AB, ada@example.com"},
		envOf(with(map[string]string{"PALIGO_SLACK_LISTEN": "127.0.0.1:7070"})), &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	if c.Listen != ":9090" {
		t.Errorf("flag did not override env: listen = %q", c.Listen)
	}
	if c.APIURL != "http://127.0.0.1:1/api/" {
		t.Errorf("api url = %q, want a trailing slash added", c.APIURL)
	}
	if len(c.Admins) != 2 || c.Admins[1] != "ada@example.com" {
		t.Errorf("admins = %q", c.Admins)
	}
}

// A start with bad settings stops naming every one: one line for one,
// a line each under a count for several.
func TestBadConfigStopsNamingEverySetting(t *testing.T) {
	cases := []struct {
		name  string
		env   map[string]string
		args  []string
		want  string
		lines int // 0: one
	}{
		{"nothing set", nil, nil, "2 settings stop the start:\n  SLACK_BOT_TOKEN (--bot-token) is required", 3},
		{"bot token missing", map[string]string{"SLACK_APP_TOKEN": "xapp-1-secretapp"}, nil, "SLACK_BOT_TOKEN (--bot-token) is required", 0},
		{"app token missing", map[string]string{"SLACK_BOT_TOKEN": "xoxb-1-secretbot"}, nil, "SLACK_APP_TOKEN (--app-token) is required", 0},
		{"tokens swapped", map[string]string{"SLACK_BOT_TOKEN": "xapp-1-secretapp", "SLACK_APP_TOKEN": "xoxb-1-secretbot"}, nil, "SLACK_BOT_TOKEN (--bot-token) is malformed", 3},
		{"app token not xapp", with(map[string]string{"SLACK_APP_TOKEN": "xoxp-1-secretapp"}), nil, "SLACK_APP_TOKEN (--app-token) is malformed", 0},
		{"api url not a url", with(map[string]string{"SLACK_API_URL": "slack.com"}), nil, "SLACK_API_URL (--api-url) is malformed", 0},
		{"listen without port", with(map[string]string{"PALIGO_SLACK_LISTEN": "localhost"}), nil, "PALIGO_SLACK_LISTEN (--listen) is malformed", 0},
		{"short ingest secret", with(map[string]string{"PALIGO_SLACK_INGEST_SECRET": "short-secret"}), nil, "PALIGO_SLACK_INGEST_SECRET (--ingest-secret) is malformed", 0},
		{"bad admin", with(map[string]string{"PALIGO_SLACK_ADMINS": "U012AB,not an admin"}), nil, "PALIGO_SLACK_ADMINS (--admins) is malformed", 0},
		{"bad invite url", with(map[string]string{"PALIGO_SLACK_INVITE_URL": "ftp://x"}), nil, "PALIGO_SLACK_INVITE_URL (--invite-url) is malformed", 0},
		{"invite url without ingest secret", with(map[string]string{"PALIGO_SLACK_INVITE_URL": "https://paligo.example/join"}), nil, "PALIGO_SLACK_INVITE_URL (--invite-url) needs PALIGO_SLACK_INGEST_SECRET", 0},
		{"short previous ingest secret", with(map[string]string{"PALIGO_SLACK_INGEST_SECRET": "new-secret-0123456789", "PALIGO_SLACK_INGEST_SECRET_PREVIOUS": "short"}), nil, "PALIGO_SLACK_INGEST_SECRET_PREVIOUS (--ingest-secret-previous) is malformed", 0},
		{"previous ingest secret alone", with(map[string]string{"PALIGO_SLACK_INGEST_SECRET_PREVIOUS": "old-secret-0123456789"}), nil, "PALIGO_SLACK_INGEST_SECRET_PREVIOUS (--ingest-secret-previous) needs PALIGO_SLACK_INGEST_SECRET", 0},
		{"ingest secret of spaces", with(map[string]string{"PALIGO_SLACK_INGEST_SECRET": "      "}), nil, "PALIGO_SLACK_INGEST_SECRET (--ingest-secret) is blank (only spaces)", 0},
		{"ingest secret of a tab and a newline", with(map[string]string{"PALIGO_SLACK_INGEST_SECRET": "\t\n"}), nil, "PALIGO_SLACK_INGEST_SECRET (--ingest-secret) is blank", 0},
		{"ingest secret flag of spaces", goodEnv, []string{"--ingest-secret", "   "}, "PALIGO_SLACK_INGEST_SECRET (--ingest-secret) is blank", 0},
		{"previous secret of spaces", with(map[string]string{"PALIGO_SLACK_INGEST_SECRET": "new-secret-0123456789", "PALIGO_SLACK_INGEST_SECRET_PREVIOUS": "  "}), nil, "PALIGO_SLACK_INGEST_SECRET_PREVIOUS (--ingest-secret-previous) is blank", 0},
		{"retention in weeks", with(map[string]string{"PALIGO_SLACK_RETENTION": "4w"}), nil, "PALIGO_SLACK_RETENTION (--retention) is malformed: must be days (30d)", 0},
		{"retention shorter than a day", with(map[string]string{"PALIGO_SLACK_RETENTION": "2h"}), nil, "PALIGO_SLACK_RETENTION (--retention) is malformed: must be at least 1d", 0},
		{"retention of no days", goodEnv, []string{"--retention", "0d"}, "PALIGO_SLACK_RETENTION (--retention) is malformed: must be at least 1d", 0},
		{"postgres url of an unescaped password", with(map[string]string{"PALIGO_SLACK_DB": "postgres://paligo:secretdb%zz@db.example:5432/paligo"}), nil, "PALIGO_SLACK_DB (--db) is malformed: is not a readable postgres:// URL", 0},
		{"mysql url", goodEnv, []string{"--db", "mysql://paligo:secretdb@db.example/paligo"}, "PALIGO_SLACK_DB (--db) is malformed: is a mysql:// URL", 0},
		{"url of a strange scheme", with(map[string]string{"PALIGO_SLACK_DB": "postgresql+foo://u:secretdb@h/d"}), nil, "PALIGO_SLACK_DB (--db) is malformed: is a postgresql+foo:// URL", 0},
		{"client id without its secret", with(map[string]string{"SLACK_CLIENT_ID": "1111.2222"}), nil, "SLACK_CLIENT_SECRET (--client-secret) and SLACK_CLIENT_ID go together", 5},
		{"client id not an id", with(map[string]string{"SLACK_CLIENT_ID": "abc"}), nil, "SLACK_CLIENT_ID (--client-id) is malformed", 0},
		{"connect without a token key", with(map[string]string{"SLACK_CLIENT_ID": "1111.2222", "SLACK_CLIENT_SECRET": "client-secretapp-0123", "PALIGO_SLACK_PUBLIC_URL": "https://bot.example"}), nil, "SLACK_CLIENT_ID (--client-id) needs PALIGO_SLACK_TOKEN_KEY", 3},
		{"token key too short", with(map[string]string{"PALIGO_SLACK_TOKEN_KEY": "c2VjcmV0YXBw"}), nil, "PALIGO_SLACK_TOKEN_KEY (--token-key) is malformed: must be 32 random bytes", 0},
		{"connect without a public url", with(map[string]string{"SLACK_CLIENT_ID": "1111.2222", "SLACK_CLIENT_SECRET": "client-secretapp-0123", "PALIGO_SLACK_TOKEN_KEY": "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="}), nil, "SLACK_CLIENT_ID (--client-id) needs PALIGO_SLACK_PUBLIC_URL", 3},
		{"pprof without port", with(map[string]string{"PALIGO_SLACK_PPROF": "localhost"}), nil, "PALIGO_SLACK_PPROF (--pprof) is malformed", 0},
		{"bad flag", goodEnv, []string{"--bot-token"}, "flag needs an argument", 0},
		{"unknown flag", goodEnv, []string{"--nope"}, "flag provided but not defined", 0},
		{"stray argument", goodEnv, []string{"extra"}, `unexpected argument "extra"`, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			// A cancelled context: if the config were accepted, nothing may
			// keep running.
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			code := Run(ctx, append([]string{"run"}, tc.args...), envOf(tc.env), &stdout, &stderr)
			if code != 2 {
				t.Errorf("exit status %d, want 2", code)
			}
			out := stderr.String()
			if !strings.Contains(out, tc.want) {
				t.Errorf("stderr %q does not contain %q", out, tc.want)
			}
			lines := strings.Split(strings.TrimSpace(out), "\n")
			if want := max(tc.lines, 1); len(lines) != want {
				t.Errorf("want %d lines, got %d: %q", want, len(lines), out)
			}
			if strings.Contains(out, "secretbot") || strings.Contains(out, "secretapp") || strings.Contains(out, "secretdb") {
				t.Errorf("a token leaked into the error: %q", out)
			}
		})
	}
}

func TestHelpAndUnknownCommand(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := Run(context.Background(), []string{"help"}, envOf(nil), &stdout, &stderr); code != 0 {
		t.Errorf("help exit %d", code)
	}
	if !strings.Contains(stdout.String(), "paligo-slack [run]") {
		t.Errorf("help output %q", stdout.String())
	}
	// run -h lists every setting, without the environment's values.
	stdout.Reset()
	if code := Run(context.Background(), []string{"run", "-h"}, envOf(goodEnv), &stdout, &stderr); code != 0 {
		t.Errorf("run -h exit %d", code)
	}
	for _, s := range settings {
		if !strings.Contains(stdout.String(), "$"+s.env) {
			t.Errorf("run -h does not list %s", s.env)
		}
	}
	if strings.Contains(stdout.String(), "secretbot") {
		t.Error("run -h printed a token")
	}
	if !strings.HasPrefix(stdout.String(), "Usage: paligo-slack run [flags]") {
		t.Errorf("run -h has no usage line: %.80q", stdout.String())
	}
	// help run is run --help.
	runHelp := stdout.String()
	stdout.Reset()
	if code := Run(context.Background(), []string{"help", "run"}, envOf(goodEnv), &stdout, &stderr); code != 0 || stdout.String() != runHelp {
		t.Errorf("help run exit %d: %.80q", code, stdout.String())
	}
	// version and --version.
	for _, v := range []string{"version", "--version"} {
		stdout.Reset()
		if code := Run(context.Background(), []string{v}, envOf(nil), &stdout, &stderr); code != 0 || !strings.HasPrefix(stdout.String(), "paligo-slack ") || !strings.Contains(stdout.String(), "commit ") {
			t.Errorf("%s: exit %d, %q", v, code, stdout.String())
		}
	}
	// An unknown command, or help about one, points to help.
	for _, args := range [][]string{{"strat"}, {"help", "strat"}} {
		stderr.Reset()
		if code := Run(context.Background(), args, envOf(goodEnv), &stdout, &stderr); code != 2 || !strings.Contains(stderr.String(), "strat") ||
			!strings.Contains(stderr.String(), "help") && !strings.Contains(stderr.String(), "commands are") {
			t.Errorf("%v: exit %d, %q", args, code, stderr.String())
		}
	}
}

// The configuration reference lists every setting, and only settings
// that exist.
func TestTheConfigurationReferenceListsEverySetting(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("..", "docs", "configuration.md"))
	if err != nil {
		t.Fatal(err)
	}
	known := map[string]bool{}
	for _, s := range settings {
		known[s.env] = true
		if !strings.Contains(string(doc), "| `"+s.env+"` | `--"+s.flag+"` |") {
			t.Errorf("docs/configuration.md's table lacks %s (--%s)", s.env, s.flag)
		}
	}
	for _, m := range regexp.MustCompile("(?m)^\\| `([A-Z_]+)` \\|").FindAllStringSubmatch(string(doc), -1) {
		if !known[m[1]] {
			t.Errorf("docs/configuration.md lists %s, which is no setting", m[1])
		}
	}
}
