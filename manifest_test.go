package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/dlclark/regexp2"
	"github.com/santhosh-tekuri/jsonschema/v6"
	"sigs.k8s.io/yaml"

	"github.com/paligo/paligo-slack/bot"
	"github.com/paligo/paligo-slack/handlers"
)

type manifest struct {
	Features struct {
		SlashCommands []struct {
			Command   string `json:"command"`
			URL       string `json:"url"`
			UsageHint string `json:"usage_hint"`
		} `json:"slash_commands"`
	} `json:"features"`
	OAuth struct {
		Scopes struct {
			Bot []string `json:"bot"`
		} `json:"scopes"`
	} `json:"oauth_config"`
	Settings struct {
		Events struct {
			Bot        []string `json:"bot_events"`
			RequestURL string   `json:"request_url"`
		} `json:"event_subscriptions"`
		SocketMode  bool `json:"socket_mode_enabled"`
		Interactive struct {
			Enabled    bool   `json:"is_enabled"`
			RequestURL string `json:"request_url"`
		} `json:"interactivity"`
	} `json:"settings"`
}

// manifests are the app's two manifests: over Socket Mode, and over
// Slack's HTTP requests.
var manifests = []string{"manifest.yaml", "manifest.http.yaml"}

func manifestJSON(t *testing.T, name string) []byte {
	t.Helper()
	y, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	j, err := yaml.YAMLToJSON(y)
	if err != nil {
		t.Fatalf("%s is not valid YAML: %v", name, err)
	}
	return j
}

func TestManifestMatchesSlackSchema(t *testing.T) {
	schemaPath := filepath.Join("testdata", "slack", "manifest.schema.1.0.0.json")
	f, err := os.Open(schemaPath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	doc, err := jsonschema.UnmarshalJSON(f)
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	// Slack's schema is written for ECMAScript regexes (it uses lookahead),
	// which Go's RE2 cannot compile.
	c.UseRegexpEngine(ecmaRegexp)
	if err := c.AddResource("manifest.schema.json", doc); err != nil {
		t.Fatal(err)
	}
	schema, err := c.Compile("manifest.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range manifests {
		inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(manifestJSON(t, name)))
		if err != nil {
			t.Fatal(err)
		}
		if err := schema.Validate(inst); err != nil {
			t.Errorf("%s does not match Slack's schema:\n%v", name, err)
		}
	}
	// The validator must be able to say no.
	bad, _ := jsonschema.UnmarshalJSON(bytes.NewReader([]byte(`{"display_information":{"name":"x"},"features":{"slash_commands":[{"command":"no-slash"}]}}`)))
	if schema.Validate(bad) == nil {
		t.Error("schema accepted a slash command without description and leading slash")
	}
}

type ecmaRE struct{ *regexp2.Regexp }

func (r ecmaRE) MatchString(s string) bool {
	ok, err := r.Regexp.MatchString(s)
	return ok && err == nil
}

func ecmaRegexp(s string) (jsonschema.Regexp, error) {
	re, err := regexp2.Compile(s, regexp2.ECMAScript)
	if err != nil {
		return nil, err
	}
	return ecmaRE{re}, nil
}

func TestManifestDeclaresWhatTheBotHandles(t *testing.T) {
	for _, name := range manifests {
		var m manifest
		if err := json.Unmarshal(manifestJSON(t, name), &m); err != nil {
			t.Fatal(err)
		}
		overHTTP := name == "manifest.http.yaml"
		if m.Settings.SocketMode == overHTTP || !m.Settings.Interactive.Enabled {
			t.Errorf("%s: Socket Mode %v, interactivity %v", name, m.Settings.SocketMode, m.Settings.Interactive.Enabled)
		}
		// Over HTTP, each request goes to the bot's endpoint for it.
		for url, path := range map[string]string{m.Settings.Events.RequestURL: "/slack/events", m.Settings.Interactive.RequestURL: "/slack/interactions"} {
			if overHTTP != strings.HasSuffix(url, path) || (overHTTP && !strings.HasPrefix(url, "https://")) {
				t.Errorf("%s: request URL %q (want an https URL ending in %s over HTTP, none over Socket Mode)", name, url, path)
			}
		}
		var cmds []string
		for _, c := range m.Features.SlashCommands {
			if overHTTP != strings.HasSuffix(c.URL, "/slack/commands") {
				t.Errorf("%s: %s has url %q", name, c.Command, c.URL)
			}
			cmds = append(cmds, c.Command)
			// The hint Slack shows while typing names every verb.
			if c.Command == "/route-alerts" {
				for _, verb := range handlers.RouteAlertsVerbs {
					if !regexp.MustCompile(`\b` + verb + `\b`).MatchString(c.UsageHint) {
						t.Errorf("%s: /route-alerts' usage hint %q does not name %s", name, c.UsageHint, verb)
					}
				}
			}
		}
		slices.Sort(cmds)
		want := slices.Sorted(slices.Values(handlers.Commands))
		if !slices.Equal(cmds, want) {
			t.Errorf("%s: commands %v, handlers answer %v", name, cmds, want)
		}
		events := slices.Sorted(slices.Values(m.Settings.Events.Bot))
		if want := slices.Sorted(slices.Values(handlers.Events)); !slices.Equal(events, want) {
			t.Errorf("%s: events %v, handlers answer %v", name, events, want)
		}
		// The Paradime seed's scopes, plus commands and im:write: the ones
		// the Connect flow asks for.
		for _, s := range []string{"channels:read", "chat:write", "chat:write.public", "groups:read", "users:read", "users:read.email", "commands", "im:write"} {
			if !slices.Contains(m.OAuth.Scopes.Bot, s) {
				t.Errorf("%s lacks scope %s", name, s)
			}
		}
		if got, want := slices.Sorted(slices.Values(m.OAuth.Scopes.Bot)), slices.Sorted(slices.Values(bot.Scopes)); !slices.Equal(got, want) {
			t.Errorf("%s asks for %v, the Connect flow for %v", name, got, want)
		}
	}
}
