package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/dlclark/regexp2"
	"github.com/santhosh-tekuri/jsonschema/v6"
	"sigs.k8s.io/yaml"

	"github.com/paligo/paligo-slack/handlers"
)

type manifest struct {
	Features struct {
		SlashCommands []struct {
			Command string `json:"command"`
			URL     string `json:"url"`
		} `json:"slash_commands"`
	} `json:"features"`
	OAuth struct {
		Scopes struct {
			Bot []string `json:"bot"`
		} `json:"scopes"`
	} `json:"oauth_config"`
	Settings struct {
		Events struct {
			Bot []string `json:"bot_events"`
		} `json:"event_subscriptions"`
		SocketMode  bool `json:"socket_mode_enabled"`
		Interactive struct {
			Enabled bool `json:"is_enabled"`
		} `json:"interactivity"`
	} `json:"settings"`
}

func manifestJSON(t *testing.T) []byte {
	t.Helper()
	y, err := os.ReadFile("manifest.yaml")
	if err != nil {
		t.Fatal(err)
	}
	j, err := yaml.YAMLToJSON(y)
	if err != nil {
		t.Fatalf("manifest.yaml is not valid YAML: %v", err)
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
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(manifestJSON(t)))
	if err != nil {
		t.Fatal(err)
	}
	if err := schema.Validate(inst); err != nil {
		t.Errorf("manifest.yaml does not match Slack's schema:\n%v", err)
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
	var m manifest
	if err := json.Unmarshal(manifestJSON(t), &m); err != nil {
		t.Fatal(err)
	}
	if !m.Settings.SocketMode || !m.Settings.Interactive.Enabled {
		t.Error("manifest must enable Socket Mode and interactivity")
	}
	var cmds []string
	for _, c := range m.Features.SlashCommands {
		if c.URL != "" {
			t.Errorf("%s has a url; Socket Mode commands have none", c.Command)
		}
		cmds = append(cmds, c.Command)
	}
	slices.Sort(cmds)
	want := slices.Sorted(slices.Values(handlers.Commands))
	if !slices.Equal(cmds, want) {
		t.Errorf("manifest commands %v, handlers answer %v", cmds, want)
	}
	events := slices.Sorted(slices.Values(m.Settings.Events.Bot))
	if want := slices.Sorted(slices.Values(handlers.Events)); !slices.Equal(events, want) {
		t.Errorf("manifest events %v, handlers answer %v", events, want)
	}
	// The Paradime seed's scopes, plus commands and im:write.
	for _, s := range []string{"channels:read", "chat:write", "chat:write.public", "groups:read", "users:read", "users:read.email", "commands", "im:write"} {
		if !slices.Contains(m.OAuth.Scopes.Bot, s) {
			t.Errorf("manifest lacks scope %s", s)
		}
	}
}
