package demo

import (
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"

	"github.com/paligo/paligo-slack/fakeslack"
)

func testRenderer() *renderer {
	return &renderer{
		users:    []fakeslack.User{{ID: "U0ADA", Name: "ada", RealName: "Ada Admin"}},
		channels: []fakeslack.Channel{{ID: "C0DOCS", Name: "docs"}},
		loc:      time.UTC,
	}
}

func TestMrkdwn(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"*bold* and _italic_ and ~gone~ and `code`", "<b>bold</b> and <i>italic</i> and <s>gone</s> and <code>code</code>"},
		{"<https://paligo.example/d/1|Install guide>", `<a href="https://paligo.example/d/1" target="_blank" rel="noopener">Install guide</a>`},
		{"<@U0ADA> in <#C0DOCS>", `<span class="bk-mention">@Ada Admin</span> in <span class="bk-mention">#docs</span>`},
		{"<@U0NOBODY|bo>", `<span class="bk-mention">@bo</span>`},
		{"<!date^0|never>", "never"},
		{"<!date^1764590400^{date_short}|Dec 1>", "<time>Mon 1 Dec 12:00 UTC</time>"},
		{"a &lt;b&gt; &amp; c", "a &lt;b&gt; &amp; c"},
		{"&gt; quoted\nnext", `<span class="bk-quote">quoted</span><br>next`},
		{":red_circle: *Run failed*", "🔴 <b>Run failed</b>"},
		{"<javascript:alert(1)|click me>", "click me"},
	} {
		if got := testRenderer().mrkdwn(c.in); got != c.want {
			t.Errorf("mrkdwn(%q)\n got %s\nwant %s", c.in, got, c.want)
		}
	}
}

// Whatever text a view or message holds, the page gets no markup from it:
// the bot escapes event text, but the page must not rely on that.
func TestRenderedTextCarriesNoMarkup(t *testing.T) {
	hostile := []string{
		`<script>alert(1)</script>`, `&lt;script&gt;alert(1)&lt;/script&gt;`, `"><img src=x onerror=alert(1)>`,
		`<javascript:alert(1)|x>`, `<data:text/html,<script>|y>`, "`<b onclick=x>`", `*<i>*`,
		`<https://ok.example/" onmouseover="x|label>`,
	}
	for _, h := range hostile {
		blocks := []any{
			map[string]any{"type": "header", "text": map[string]any{"type": "plain_text", "text": h}},
			map[string]any{"type": "section", "block_id": h, "text": map[string]any{"type": "mrkdwn", "text": h},
				"fields":    []any{map[string]any{"type": "mrkdwn", "text": h}},
				"accessory": map[string]any{"type": "button", "action_id": h, "value": h, "url": h, "text": map[string]any{"type": "plain_text", "text": h}}},
			map[string]any{"type": "context", "elements": []any{map[string]any{"type": "mrkdwn", "text": h}, map[string]any{"type": "image", "image_url": h, "alt_text": h}}},
			map[string]any{"type": "input", "block_id": h, "label": map[string]any{"type": "plain_text", "text": h},
				"element": map[string]any{"type": "static_select", "action_id": h, "options": []any{
					map[string]any{"value": h, "text": map[string]any{"type": "plain_text", "text": h}}}}},
		}
		r := testRenderer()
		r.errors = map[string]string{h: h}
		r.Blocks(blocks)
		if bad := markupFromInput(string(r.html())); bad != "" {
			t.Errorf("input %q drew %s:\n%s", h, bad, r.html())
		}
	}
}

// markupFromInput parses the page's HTML as a browser would and names the
// first thing in it the renderer does not write itself: an element other
// than its own, an event handler, a link or image to anything but http(s)
// or mailto.
func markupFromInput(page string) string {
	own := map[string]bool{"h2": true, "hr": true, "div": true, "span": true, "b": true, "i": true, "s": true, "code": true,
		"a": true, "br": true, "time": true, "button": true, "select": true, "option": true, "optgroup": true, "label": true,
		"input": true, "textarea": true, "small": true, "img": true}
	z := html.NewTokenizer(strings.NewReader(page))
	for {
		switch z.Next() {
		case html.ErrorToken:
			return ""
		case html.StartTagToken, html.SelfClosingTagToken:
			tok := z.Token()
			if !own[tok.Data] {
				return "element <" + tok.Data + ">"
			}
			for _, a := range tok.Attr {
				if strings.HasPrefix(a.Key, "on") {
					return "attribute " + a.Key
				}
				if a.Key == "href" || a.Key == "src" {
					if u, err := url.Parse(a.Val); err != nil || (u.Scheme != "http" && u.Scheme != "https" && u.Scheme != "mailto") {
						return a.Key + "=" + a.Val
					}
				}
			}
		}
	}
}

func TestMrkdwnFormatsAroundLinks(t *testing.T) {
	got := testRenderer().mrkdwn("*<https://paligo.example/t/1|Step 3>* and _<@U0ADA>_")
	want := `<b><a href="https://paligo.example/t/1" target="_blank" rel="noopener">Step 3</a></b> and <i><span class="bk-mention">@Ada Admin</span></i>`
	if got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	// A placeholder character in the input is not a way in.
	if got := testRenderer().mrkdwn("\ue0000\ue001 <https://x.example|x>"); strings.Contains(got, "\ue000") || strings.Count(got, "<a ") != 1 {
		t.Errorf("placeholder in input: %s", got)
	}
}

// Every :emoji: the bot's views write is drawn as Slack draws it, not
// left as its code.
func TestEveryEmojiTheViewsUseIsDrawn(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("..", "views", "*.go"))
	if err != nil || len(files) == 0 {
		t.Fatalf("views sources: %v", err)
	}
	code := regexp.MustCompile(`:[a-z][a-z0-9_]+:`)
	seen := 0
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range code.FindAllString(string(src), -1) {
			seen++
			if emoji.Replace(c) == c {
				t.Errorf("%s uses %s, which the demo draws as its code", filepath.Base(f), c)
			}
		}
	}
	if seen < 10 {
		t.Errorf("only %d emoji codes found in the views; the pattern is wrong", seen)
	}
}
