package app

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"net/mail"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/paligo/paligo-slack/paligo"
	"github.com/paligo/paligo-slack/sources"
	"github.com/paligo/paligo-slack/store"
)

// Secret is a token or key. It never prints itself, so a Config can be
// logged or wrapped into an error without leaking it.
type Secret string

func (Secret) String() string                 { return "[redacted]" }
func (Secret) GoString() string               { return "[redacted]" }
func (Secret) LogValue() slog.Value           { return slog.StringValue("[redacted]") }
func (s Secret) MarshalText() ([]byte, error) { return []byte("[redacted]"), nil }

// Config is everything the operator sets. Each field comes from an
// environment variable and can be overridden by a flag of `run`.
type Config struct {
	BotToken Secret
	AppToken Secret
	// SigningSecret checks Slack's HTTP requests; with it, AppToken may be
	// left out (no Socket Mode).
	SigningSecret Secret
	// The Connect flow (connect/): the app's OAuth credentials, Slack's
	// authorize page, where browsers and Slack reach the listener, and the
	// key that seals the tokens kept.
	ClientID     string
	ClientSecret Secret
	OAuthURL     string
	PublicURL    string
	TokenKey     Secret
	APIURL       string
	DB           string
	Replica      string
	Listen       string
	IngestSecret Secret
	// IngestSecretPrevious is the ingest secret before IngestSecret, still
	// accepted while the platform moves to the new one.
	IngestSecretPrevious Secret
	Admins               []string // Slack user ids or emails
	InviteURL            string
	// ActionsURL receives clicks on Acknowledge and the platform's own
	// buttons (signed callbacks); empty draws no platform button.
	ActionsURL  string
	ChannelRate float64 // messages per second per channel
	ActivityURL string  // where a digest's "and N more" links
	// Retention is how long settled events, their receipts, sent digests
	// and ended invitations are kept.
	Retention time.Duration
	// Pprof is the address of a second listener that serves Go's profiles
	// (net/http/pprof); empty, the default, serves none.
	Pprof string
	// Sources are the senders whose own webhooks are taken, by name, with
	// their credentials (PALIGO_SLACK_SOURCE_<NAME>).
	Sources map[string]sources.Auth
	// DBTCloudURL is the base of dbt Cloud's run links.
	DBTCloudURL string
	// UnfurlDomains are the hosts whose links to subjects unfurl.
	UnfurlDomains []string
}

// setting is one row of the configuration table in docs/configuration.md.
type setting struct {
	env, flag, def, usage string
	required              bool
	check                 func(string) error
	set                   func(*Config, string)
}

var settings = []setting{
	{env: "SLACK_BOT_TOKEN", flag: "bot-token",
		usage: "bot token (xoxb-…), from OAuth & Permissions: the one workspace it serves (required unless SLACK_CLIENT_ID is set; with both, it is the primary workspace beside the connected ones)",
		check: prefixed("xoxb-"), set: func(c *Config, v string) { c.BotToken = Secret(v) }},
	{env: "SLACK_APP_TOKEN", flag: "app-token",
		usage: "app-level token (xapp-…) with connections:write, from Basic Information: Socket Mode",
		check: prefixed("xapp-"), set: func(c *Config, v string) { c.AppToken = Secret(v) }},
	{env: "SLACK_SIGNING_SECRET", flag: "signing-secret",
		usage: "the app's Signing Secret, from Basic Information: Slack's HTTP requests (Events API, interactivity, slash commands) are taken at /slack/events, /slack/interactions and /slack/commands on the listener, checked against it",
		check: minLen(16), set: func(c *Config, v string) { c.SigningSecret = Secret(v) }},
	{env: "SLACK_CLIENT_ID", flag: "client-id",
		usage: "the app's Client ID (Basic Information): with SLACK_CLIENT_SECRET, the platform's Connect links install the app in workspaces (GET /slack/install)",
		check: clientID, set: func(c *Config, v string) { c.ClientID = v }},
	{env: "SLACK_CLIENT_SECRET", flag: "client-secret",
		usage: "the app's Client Secret (Basic Information), for oauth.v2.access",
		check: minLen(16), set: func(c *Config, v string) { c.ClientSecret = Secret(v) }},
	{env: "SLACK_OAUTH_URL", flag: "oauth-url", def: "https://slack.com/oauth/v2/authorize",
		usage: "Slack's OAuth v2 authorize page (tests)",
		check: httpURL, set: func(c *Config, v string) { c.OAuthURL = v }},
	{env: "PALIGO_SLACK_PUBLIC_URL", flag: "public-url",
		usage: "where browsers and Slack reach the listener (https://…): the OAuth redirect URI is this and /slack/oauth/callback",
		check: httpURL, set: func(c *Config, v string) { c.PublicURL = strings.TrimSuffix(v, "/") }},
	{env: "PALIGO_SLACK_TOKEN_KEY", flag: "token-key",
		usage: "the key that seals the workspaces' tokens at rest (AES-256-GCM): 32 random bytes in standard base64 (openssl rand -base64 32)",
		check: tokenKey, set: func(c *Config, v string) { c.TokenKey = Secret(v) }},
	{env: "SLACK_API_URL", flag: "api-url", def: "https://slack.com/api/",
		usage: "Slack Web API base URL (proxies, tests)",
		check: httpURL, set: func(c *Config, v string) {
			if !strings.HasSuffix(v, "/") {
				v += "/"
			}
			c.APIURL = v
		}},
	{env: "PALIGO_SLACK_DB", flag: "db", def: "paligo-slack.db",
		usage: "the database: a bbolt file's path, or postgres://… for replicas sharing PostgreSQL", check: dbFile, set: func(c *Config, v string) { c.DB = v }},
	{env: "PALIGO_SLACK_REPLICA", flag: "replica",
		usage: "this replica's name among those sharing a PostgreSQL database, in /healthz and the database's own views (default host:pid)",
		check: replicaName, set: func(c *Config, v string) { c.Replica = v }},
	{env: "PALIGO_SLACK_LISTEN", flag: "listen", def: "127.0.0.1:8080",
		usage: "address of the ingest, health and metrics listener",
		check: hostPort, set: func(c *Config, v string) { c.Listen = v }},
	{env: "PALIGO_SLACK_INGEST_SECRET", flag: "ingest-secret",
		usage: "HMAC secret of POST /v1/events (events are refused without it)",
		check: minLen(16), set: func(c *Config, v string) { c.IngestSecret = Secret(v) }},
	{env: "PALIGO_SLACK_INGEST_SECRET_PREVIOUS", flag: "ingest-secret-previous",
		usage: "while rotating the ingest secret: the one before, still accepted (requests and invitation links)",
		check: minLen(16), set: func(c *Config, v string) { c.IngestSecretPrevious = Secret(v) }},
	{env: "PALIGO_SLACK_ADMINS", flag: "admins",
		usage: "extra admins: Slack user ids or emails, comma-separated",
		check: adminList, set: func(c *Config, v string) { c.Admins = splitList(v) }},
	{env: "PALIGO_SLACK_INVITE_URL", flag: "invite-url",
		usage: "base URL of the invitation page (invites are refused without it)",
		check: httpURL, set: func(c *Config, v string) { c.InviteURL = v }},
	{env: "PALIGO_SLACK_ACTIONS_URL", flag: "actions-url",
		usage: "where clicks on Acknowledge and the platform's actions on living messages are sent (signed POSTs); empty draws no platform action",
		check: httpURL, set: func(c *Config, v string) { c.ActionsURL = v }},
	{env: "PALIGO_SLACK_CHANNEL_RATE", flag: "channel-rate", def: "1",
		usage: "messages per second per channel; Slack allows about 1, keep it unless a proxy or a test says otherwise",
		check: positiveRate, set: func(c *Config, v string) { c.ChannelRate, _ = strconv.ParseFloat(v, 64) }},
	{env: "PALIGO_SLACK_ACTIVITY_URL", flag: "activity-url",
		usage: "Paligo's activity page: a digest's \"and N more\" line links there",
		check: httpURL, set: func(c *Config, v string) { c.ActivityURL = v }},
	{env: "PALIGO_SLACK_RETENTION", flag: "retention", def: "30d",
		usage: "how long settled events, receipts, sent digests and ended invitations are kept: days (30d) or a Go duration (720h), at least 1d",
		check: retention, set: func(c *Config, v string) { c.Retention, _ = parseRetention(v) }},
	{env: "PALIGO_SLACK_UNFURL_DOMAINS", flag: "unfurl-domains",
		usage: "hosts of the platforms' URLs, comma-separated (paligo.example.com): a link there to a subject the bot has events for is previewed in Slack; also list them under the app's unfurl domains",
		check: hostList, set: func(c *Config, v string) {
			for _, h := range splitList(v) {
				c.UnfurlDomains = append(c.UnfurlDomains, strings.ToLower(h))
			}
		}},
	{env: "PALIGO_SLACK_PPROF", flag: "pprof",
		usage: "address of a listener for Go's profiles (/debug/pprof/), off when unset; keep it on loopback",
		check: hostPort, set: func(c *Config, v string) { c.Pprof = v }},
}

// The senders' settings, PALIGO_SLACK_SOURCE_<NAME>, one per sender, and
// where dbt Cloud's runs are.
func init() {
	for _, src := range sources.Senders {
		schemes := make([]string, len(src.Schemes))
		for i, sc := range src.Schemes {
			schemes[i] = string(sc)
		}
		settings = append(settings, setting{env: src.Setting(), flag: "source-" + src.Name,
			usage: src.Title + "'s own webhooks at POST /v1/sources/" + src.Name + ", with these credentials: " +
				strings.Join(schemes, ", ") + " (SCHEME:SECRET; basic:USER:PASSWORD); off when unset",
			check: func(v string) error { _, err := src.ParseAuth(v); return err },
			set: func(c *Config, v string) {
				a, _ := src.ParseAuth(v)
				if c.Sources == nil {
					c.Sources = map[string]sources.Auth{}
				}
				c.Sources[src.Name] = a
			}})
	}
	settings = append(settings, setting{env: "PALIGO_SLACK_DBT_CLOUD_URL", flag: "dbt-cloud-url", def: sources.DBTCloudURL,
		usage: "dbt Cloud's access URL, where a run's Open button goes (https://emea.dbt.com, a cell's own URL)",
		check: httpURL, set: func(c *Config, v string) { c.DBTCloudURL = strings.TrimSuffix(v, "/") }})
}

// SettingNames are the environment variables run reads, in the order
// run --help lists them.
func SettingNames() []string {
	names := make([]string, len(settings))
	for i, s := range settings {
		names[i] = s.env
	}
	return names
}

func positiveRate(v string) error {
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || f <= 0 || f > 1000 || math.IsNaN(f) {
		return errors.New("must be a number of messages per second above 0 and at most 1000")
	}
	return nil
}

// parseRetention reads "30d" (days) or a Go duration ("720h").
func parseRetention(v string) (time.Duration, error) {
	if days, ok := strings.CutSuffix(v, "d"); ok {
		n, err := strconv.Atoi(days)
		if err != nil || n < 0 || n > 3650 {
			return 0, errors.New("must be a whole number of days, e.g. 30d")
		}
		return time.Duration(n) * 24 * time.Hour, nil
	}
	return time.ParseDuration(v)
}

func retention(v string) error {
	d, err := parseRetention(v)
	if err != nil {
		return errors.New("must be days (30d) or a Go duration (720h)")
	}
	if d < 24*time.Hour || d > 3650*24*time.Hour {
		return errors.New("must be at least 1d (the platform's retries and replayed requests must find their ids) and at most 3650d")
	}
	return nil
}

// configError names the setting that is wrong; main prints it as one line.
type configError struct{ env, flag, msg string }

func (e *configError) Error() string {
	return fmt.Sprintf("%s (--%s) %s", e.env, e.flag, e.msg)
}

// parseConfig reads the settings from args (flags of run), falling back to
// getenv, then to the defaults. Flag defaults never show the environment's
// values, so -h cannot print a token.
func ParseConfig(args []string, getenv func(string) string, usageOut io.Writer) (Config, error) {
	fs := flag.NewFlagSet("paligo-slack run", flag.ContinueOnError)
	fs.SetOutput(io.Discard) // errors are reported in one line by the caller
	values := make([]*string, len(settings))
	for i, s := range settings {
		values[i] = fs.String(s.flag, s.def, s.usage+" [$"+s.env+"]")
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(usageOut, "Usage: paligo-slack run [flags]\n\nStarts the bot. Every flag has an environment variable, named after it in brackets;\nprefer the environment for secrets (flags show in ps).\n\n")
			fs.SetOutput(usageOut)
			fs.PrintDefaults()
		}
		return Config{}, err
	}
	if fs.NArg() > 0 {
		return Config{}, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	var c Config
	var errs configErrors
	for i, s := range settings {
		v := *values[i]
		if !given[s.flag] {
			if e := getenv(s.env); e != "" {
				v = e
			}
		}
		if strings.TrimSpace(v) == "" && v != "" {
			// Set, but to nothing: a secret of spaces would start the bot
			// with ingest quietly off.
			errs.add(s.env, s.flag, "is blank (only spaces): give it a value or leave it unset")
			continue
		}
		v = strings.TrimSpace(v)
		if v == "" {
			if s.required {
				errs.add(s.env, s.flag, "is required: the "+s.usage)
			}
			continue
		}
		if s.check != nil {
			if err := s.check(v); err != nil {
				errs.add(s.env, s.flag, "is malformed: "+err.Error())
				continue
			}
		}
		s.set(&c, v)
	}
	// What the settings need of each other, for those that were given
	// well (a malformed one is not said missing too).
	if c.BotToken == "" && c.ClientID == "" && !errs.about("SLACK_BOT_TOKEN", "SLACK_CLIENT_ID") {
		errs.add("SLACK_BOT_TOKEN", "bot-token", "is required (or SLACK_CLIENT_ID and SLACK_CLIENT_SECRET, to serve the workspaces connected through the platform's Connect links): the bot token (xoxb-…), from OAuth & Permissions")
	}
	if c.AppToken == "" && c.SigningSecret == "" && !errs.about("SLACK_APP_TOKEN", "SLACK_SIGNING_SECRET") {
		errs.add("SLACK_APP_TOKEN", "app-token", "is required (or SLACK_SIGNING_SECRET, for Slack's HTTP requests instead of Socket Mode): the app-level token (xapp-…) with connections:write, from Basic Information")
	}
	if (c.ClientID == "") != (c.ClientSecret == "") && !errs.about("SLACK_CLIENT_ID", "SLACK_CLIENT_SECRET") {
		errs.add("SLACK_CLIENT_SECRET", "client-secret", "and SLACK_CLIENT_ID go together: the app's OAuth credentials, from Basic Information")
	}
	if c.ClientID != "" {
		for _, need := range []struct {
			env, flag string
			set       bool
			why       string
		}{
			{"PALIGO_SLACK_TOKEN_KEY", "token-key", c.TokenKey != "", "the workspaces' tokens are sealed with it"},
			{"PALIGO_SLACK_PUBLIC_URL", "public-url", c.PublicURL != "", "Slack sends the browser back to it"},
			{"PALIGO_SLACK_INGEST_SECRET", "ingest-secret", c.IngestSecret != "", "the platform's Connect links are signed with it"},
		} {
			if !need.set && !errs.about(need.env) {
				errs.add("SLACK_CLIENT_ID", "client-id", "needs "+need.env+": "+need.why)
			}
		}
	}
	needsSecret := !errs.about("PALIGO_SLACK_INGEST_SECRET") && c.IngestSecret == ""
	if c.IngestSecretPrevious != "" && needsSecret {
		errs.add("PALIGO_SLACK_INGEST_SECRET_PREVIOUS", "ingest-secret-previous", "needs PALIGO_SLACK_INGEST_SECRET: it is the secret before that one")
	}
	if c.ActionsURL != "" && needsSecret {
		errs.add("PALIGO_SLACK_ACTIONS_URL", "actions-url", "needs PALIGO_SLACK_INGEST_SECRET: the callbacks are signed with it")
	}
	if c.InviteURL != "" && needsSecret {
		errs.add("PALIGO_SLACK_INVITE_URL", "invite-url", "needs PALIGO_SLACK_INGEST_SECRET: invitation links are signed with it, and the Paligo side checks them through the signed API")
	}
	if len(errs) > 0 {
		return Config{}, errs
	}
	return c, nil
}

// configErrors are every setting that stops the start, in the order of
// the settings: one line each.
type configErrors []*configError

func (e *configErrors) add(env, flag, msg string) { *e = append(*e, &configError{env, flag, msg}) }

// about reports whether one of envs has an error already.
func (e configErrors) about(envs ...string) bool {
	for _, err := range e {
		if slices.Contains(envs, err.env) {
			return true
		}
	}
	return false
}

func (e configErrors) Error() string {
	if len(e) == 1 {
		return e[0].Error()
	}
	lines := make([]string, len(e))
	for i, err := range e {
		lines[i] = "  " + err.Error()
	}
	return fmt.Sprintf("%d settings stop the start:\n%s", len(e), strings.Join(lines, "\n"))
}

// The checks below never quote the value: it may be a secret.

func prefixed(p string) func(string) error {
	return func(v string) error {
		if !strings.HasPrefix(v, p) || len(v) <= len(p) {
			return fmt.Errorf("must start with %q", p)
		}
		return nil
	}
}

func minLen(n int) func(string) error {
	return func(v string) error {
		if len(v) < n {
			return fmt.Errorf("must be at least %d characters", n)
		}
		return nil
	}
}

func httpURL(v string) error {
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return errors.New("must be an absolute http:// or https:// URL")
	}
	return nil
}

func clientID(v string) error {
	if strings.Trim(v, "0123456789.") != "" || !strings.Contains(v, ".") {
		return errors.New("must be the app's Client ID: digits and a dot (1234567890.1234567890)")
	}
	return nil
}

func tokenKey(v string) error {
	if _, err := paligo.NewSealer(v); err != nil {
		return err
	}
	return nil
}

// dbFile takes a bbolt file's path or a postgres:// (postgresql://) URL,
// and refuses a URL of any other scheme naming only its scheme: a
// connection string holds a password, which must not reach an error or a
// log (nor become a file name).
func dbFile(v string) error {
	scheme, _, isURL := strings.Cut(v, "://")
	if !isURL {
		return nil
	}
	if store.IsPostgresURL(v) {
		if _, err := url.Parse(v); err != nil {
			return errors.New("is not a readable postgres:// URL (is a character of the password not escaped?)")
		}
		return nil
	}
	if len(scheme) > 20 || strings.ContainsAny(scheme, "@:/") {
		return errors.New("is a URL of no scheme this bot knows; give a bbolt file's path or a postgres:// URL")
	}
	return fmt.Errorf("is a %s:// URL; give a bbolt file's path or a postgres:// URL", scheme)
}

func replicaName(v string) error {
	if len(v) > 40 || strings.ContainsFunc(v, func(r rune) bool { return r < ' ' || r > '~' }) {
		return errors.New("must be up to 40 printable ASCII characters")
	}
	return nil
}

func hostPort(v string) error {
	if _, _, err := net.SplitHostPort(v); err != nil {
		return errors.New("must be host:port, e.g. 127.0.0.1:8080 or :8080")
	}
	return nil
}

var slackUserID = regexp.MustCompile(`^[UW][A-Z0-9]{2,}$`)

func adminList(v string) error {
	for _, a := range splitList(v) {
		if slackUserID.MatchString(a) {
			continue
		}
		if addr, err := mail.ParseAddress(a); err == nil && addr.Address == a {
			continue
		}
		return fmt.Errorf("%q is neither a Slack user id (U…/W…) nor an email", a)
	}
	return nil
}

var hostName = regexp.MustCompile(`^(?i)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)+$`)

// hostList checks a list of host names (no scheme, port or path).
func hostList(v string) error {
	for _, h := range splitList(v) {
		if !hostName.MatchString(h) {
			return fmt.Errorf("%q is not a host name (paligo.example.com: no scheme, port or path)", h)
		}
	}
	return nil
}

func splitList(v string) []string {
	var out []string
	for _, p := range strings.Split(v, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
