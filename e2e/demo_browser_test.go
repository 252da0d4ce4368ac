package e2e

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/paligo/paligo-slack/app"
	"github.com/paligo/paligo-slack/paligo"
	"github.com/paligo/paligo-slack/views"
)

// chromium finds the browser the demo test drives: $CHROMIUM, or Debian's
// chromium package (.ci/run installs it).
func chromium(t *testing.T) string {
	t.Helper()
	for _, c := range []string{os.Getenv("CHROMIUM"), "chromium", "chromium-browser", "google-chrome"} {
		if c == "" {
			continue
		}
		if p, err := exec.LookPath(c); err == nil {
			return p
		}
	}
	t.Fatal("the demo's browser test needs Chromium: apt-get install chromium (or set CHROMIUM to a Chrome binary)")
	return ""
}

// artifacts is where the browser test saves its screenshots: $ARTIFACTS,
// or artifacts/ in the checkout (ignored by git).
func artifacts(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("ARTIFACTS")
	if dir == "" {
		dir = "artifacts"
	}
	dir = filepath.Join(dir, "demo")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// browser is a headless Chromium on the demo page.
type browser struct {
	t    *testing.T
	ctx  context.Context
	page string
	dir  string
	shot int
}

// run does the actions in order. The page reloads itself when the
// workspace changes (a message arrived, the Home tab was redrawn), so an
// element found can be gone by the time it is clicked or typed into:
// Chromium then answers that the node is not there, nothing was done to
// it, and the actions are done again on the new page (each list ends with
// its one click or typing, so doing it again does nothing twice).
func (b *browser) run(what string, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	for try := 1; ; try++ {
		ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
		err := chromedp.Do(ctx, actions...)
		cancel()
		if err == nil {
			return
		}
		if try < 3 && pageMoved(err) {
			b.t.Logf("%s: the page reloaded under it (%v); again", what, err)
			time.Sleep(200 * time.Millisecond)
			continue
		}
		b.screenshot("failed")
		b.t.Fatalf("%s: %v", what, err)
	}
}

// pageMoved: Chromium's answer when the node or the document an action
// was working on was replaced by a reload.
func pageMoved(err error) bool {
	for _, s := range []string{"Could not find node with given id", "No node with given id found", "Node is detached from document",
		"Cannot find context with specified id", "Execution context was destroyed"} {
		if strings.Contains(err.Error(), s) {
			return true
		}
	}
	return false
}

// open goes to the page as user, on surface at ("home", "dm" or a
// channel id).
func (b *browser) open(user, at string) {
	b.t.Helper()
	b.run("open "+at, chromedp.Navigate(fmt.Sprintf("%s/?as=%s&at=%s&open=1", b.page, user, at)), chromedp.WaitReady(chromedp.CSS("body")))
}

// waitFor polls a JavaScript condition on the page (across the reloads the
// page makes after each change) until it holds.
func (b *browser) waitFor(what, cond string) {
	b.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(b.ctx, 2*time.Second)
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`!!(`+cond+`)`))
		cancel()
		if err == nil && ok {
			return
		}
		if time.Now().After(deadline) {
			b.screenshot("failed")
			b.t.Fatalf("the page never showed %s (%s)", what, cond)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// pick chooses a sample event the way a person does, once the page's
// script listens: a page still loading (it reloads itself whenever the
// workspace changes) draws the list before its script runs, and a choice
// made then is not remembered across the next reload.
func (b *browser) pick(kind string) {
	b.t.Helper()
	b.pickSample(kind, kind)
}

// pickSample chooses the sample option whose body holds contains.
func (b *browser) pickSample(option, contains string) {
	b.t.Helper()
	b.waitFor("the "+option+" sample chosen", fmt.Sprintf(`(() => {
		if (document.body.dataset.ready !== 'true') return false;
		const k = document.querySelector('#kind');
		if (k.value !== %[1]q) { k.value = %[1]q; k.dispatchEvent(new Event('change', {bubbles: true})); }
		return document.querySelector('#event-json').value.includes(%[2]q) &&
			Object.keys(sessionStorage).some((key) => key.startsWith('kind ') && sessionStorage.getItem(key) === %[1]q);
	})()`, option, contains))
}

// press clicks the control once the page's script listens, in one step
// with that check, so that a reload of the page cannot come between them.
func (b *browser) press(what, sel string) {
	b.t.Helper()
	b.waitFor(what, fmt.Sprintf(`(() => {
		if (document.readyState !== 'complete' || document.body.dataset.ready !== 'true') return false;
		const el = document.querySelector(%q);
		if (!el) return false;
		el.click();
		return true;
	})()`, sel))
}

// markPage marks the document shown now, so that reloaded can tell when
// the page has been drawn anew after a change.
func (b *browser) markPage() chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := chromedp.Evaluate[bool](`window.beforeChange = true`)(ctx, t)
		return err
	})
}

// reloaded is a condition: the page marked by markPage was replaced.
func (b *browser) reloaded() string {
	return `document.readyState === 'complete' && !window.beforeChange`
}

// text is a condition: the selector's text contains s.
func text(sel, s string) string {
	return fmt.Sprintf(`(document.querySelector(%q)||{}).innerText && document.querySelector(%q).innerText.includes(%q)`, sel, sel, s)
}

func (b *browser) screenshot(name string) string {
	b.t.Helper()
	b.shot++
	ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.t.Logf("screenshot %s: %v", name, err)
		return ""
	}
	path := filepath.Join(b.dir, fmt.Sprintf("%02d-%s.png", b.shot, name))
	if err := os.WriteFile(path, png, 0o644); err != nil {
		b.t.Fatal(err)
	}
	b.t.Logf("screenshot: %s", path)
	return path
}

// picture saves the window as it is (the README's picture) to
// artifacts/demo/picture.png, and to path too when PALIGO_DEMO_PICTURE=1.
func (b *browser) picture(path string) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		b.t.Fatalf("the picture: %v", err)
	}
	targets := []string{filepath.Join(b.dir, "picture.png")}
	if os.Getenv("PALIGO_DEMO_PICTURE") == "1" {
		targets = append(targets, path)
	}
	for _, p := range targets {
		if err := os.WriteFile(p, png, 0o644); err != nil {
			b.t.Fatal(err)
		}
		b.t.Logf("picture: %s", p)
	}
}

// narrow shows the page in a window width px wide and checks that nothing
// is cut or pushed sideways, then brings the window back.
func (b *browser) narrow(width, height int64) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	if _, err := chromedp.Run(ctx, chromedp.EmulateViewport(width, height)); err != nil {
		b.t.Fatal(err)
	}
	defer chromedp.Run(b.ctx, chromedp.EmulateViewport(1400, 1000))
	check := `(() => {
		const w = document.documentElement.clientWidth, bad = [];
		if (w > ` + fmt.Sprint(width) + `) bad.push('the window is ' + w + ' px wide');
		if (document.documentElement.scrollWidth > w) bad.push('the page is ' + document.documentElement.scrollWidth + ' px wide');
		for (const sel of ['.topbar', '#simulated', '.sidebar', '#command', '#messages .msg', '#messages .bk-fields', '#thread', '#thread .msg', '#kind', '#event-json', '#send-event']) {
			const els = document.querySelectorAll(sel);
			if (els.length === 0) bad.push(sel + ' is not on the page');
			for (const el of els) {
				const r = el.getBoundingClientRect();
				if (r.width === 0 || r.left < 0 || r.right > w + 0.5) bad.push(sel + ' spans ' + Math.round(r.left) + '..' + Math.round(r.right));
			}
		}
		for (const el of document.querySelectorAll('.pane, #messages .msg-main, #thread')) {
			if (el.scrollWidth > el.clientWidth + 1) bad.push((el.id || el.className) + ' is cut: ' + el.scrollWidth + ' px in ' + el.clientWidth);
		}
		return bad.join('; ');
	})()`
	var bad string
	for range 20 { // the layout settles after the resize
		out, err := chromedp.Run(ctx, chromedp.Evaluate[string](check))
		if err != nil {
			b.t.Fatal(err)
		}
		if bad = out; bad == "" {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	b.screenshot(fmt.Sprintf("narrow-%d", width))
	if bad != "" {
		b.t.Errorf("at %d px: %s", width, bad)
	}
	b.waitFor("the simulated workspace said", text("#simulated", "simulated Slack workspace"))
}

// selectOptions selects the options with values in the select sel (and
// unselects the others), as a person picking in the list would.
func selectOptions(sel string, values ...string) chromedp.Action[chromedp.Void] {
	js := fmt.Sprintf(`(() => { const s = document.querySelector(%q); const want = %s;
		for (const o of s.options) o.selected = want.includes(o.value); return s.selectedOptions.length; })()`, sel, jsList(values))
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		n, err := chromedp.Evaluate[int](js)(ctx, t)
		if err == nil && n != len(values) {
			err = fmt.Errorf("%s: %d of %v selected", sel, n, values)
		}
		return err
	})
}

func jsList(values []string) string {
	q := make([]string, len(values))
	for i, v := range values {
		q[i] = fmt.Sprintf("%q", v)
	}
	return "[" + strings.Join(q, ",") + "]"
}

// TestDemoInABrowser starts `paligo-slack demo` as the command does and
// drives its page in headless Chromium through what a newcomer would try:
// change their frequency, route run.failed to #data-alerts (after an inline
// error), send a run.failed event and see it in the channel, and invite two
// people; then the invitee accepts, and the clock brings a digest. Each
// step is checked in the page and in the bot's store, and
// screenshotted.
func TestDemoInABrowser(t *testing.T) {
	chrome := chromium(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	logs := &syncBuffer{}
	d, err := app.StartDemo(ctx, "127.0.0.1:0", slog.New(slog.NewJSONHandler(logs, nil)), "")
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	st := d.Main.Store()
	team := d.Slack.TeamID()

	// evil.example resolves to this machine, as a DNS-rebinding site would
	// make it.
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(chrome), chromedp.NoSandbox,
		chromedp.WindowSize(1400, 1000), chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("host-resolver-rules", "MAP evil.example 127.0.0.1"))
	alloc, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	defer cancelAlloc()
	bctx, cancelB := chromedp.NewContext(alloc)
	defer cancelB()
	b := &browser{t: t, ctx: bctx, page: d.PageURL, dir: artifacts(t)}
	// The first action starts the browser (with no timeout: it would be
	// the browser's).
	if err := chromedp.Do(bctx, chromedp.Navigate(d.PageURL)); err != nil {
		t.Fatalf("start Chromium: %v", err)
	}
	// The page alerts only when something went wrong: record and dismiss.
	var mu sync.Mutex
	var alerts []string
	dialogs := chromedp.Events(bctx, page.JavascriptDialogOpening)
	go func() {
		for ev, err := range dialogs {
			if err != nil {
				return
			}
			mu.Lock()
			alerts = append(alerts, ev.Message)
			mu.Unlock()
			chromedp.Call(bctx, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: true})
		}
	}()

	// 1. Bo changes his frequency on his Home tab.
	b.open("U0BO", "home")
	b.waitFor("Bo's Home tab", `document.querySelector('input[type=radio][value=instant]')`)
	b.run("choose instant", b.markPage(), chromedp.Click(chromedp.CSS(`input[type=radio][value=instant]`)))
	b.waitFor("instant chosen in the redrawn tab", b.reloaded()+` && document.querySelector('input[type=radio][value=instant]').checked`)
	if p, _ := st.Prefs(team, "U0BO"); p.Frequency != paligo.Instant {
		t.Errorf("Bo's frequency is %q after choosing instant", p.Frequency)
	}
	b.screenshot("frequency-instant")

	// Cy moves his digest to 08:30 (a time picker) and turns mentions off
	// (a checkbox).
	b.open("U0CY", "home")
	b.waitFor("Cy's Home tab", `document.querySelector('input[type=time]') && document.querySelector('input[type=checkbox][value=mentions]')`)
	b.run("08:30", b.markPage(), chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := chromedp.Evaluate[bool](`(() => { const el = document.querySelector('input[type=time]'); el.value = '08:30';
			el.dispatchEvent(new Event('change', {bubbles: true})); return true; })()`)(ctx, t)
		return err
	}))
	b.waitFor("08:30 in the redrawn tab", b.reloaded()+` && document.querySelector('input[type=time]').value === '08:30'`)
	b.run("mentions off", b.markPage(), chromedp.Click(chromedp.CSS(`input[type=checkbox][value=mentions]`)))
	b.waitFor("mentions off in the redrawn tab", b.reloaded()+` && !document.querySelector('input[type=checkbox][value=mentions]').checked`)
	if p, _ := st.Prefs(team, "U0CY"); p.DigestTime != "08:30" || fmt.Sprint(p.Off) != "[mentions]" {
		t.Errorf("Cy's prefs after the time picker and the checkbox: %+v", p)
	}

	// 2. Ada routes run.failed: first to a private channel Paligo is not
	// in (an inline error, nothing saved), then to #data-alerts.
	b.open("U0ADA", "C0GENERAL")
	b.run("type /route-alerts", chromedp.SendKeys(chromedp.CSS("#command"), "/route-alerts\r"))
	runFailed := fmt.Sprintf(`.bk-input[data-block-id=%q] select`, views.RouteBlockID("run.failed"))
	b.waitFor("the routing form", `document.querySelector('#modal') && document.querySelector(`+fmt.Sprintf("%q", runFailed)+`)`)
	b.run("choose #leadership", selectOptions(runFailed, "C0LEADS"), chromedp.Click(chromedp.CSS("#modal-submit")))
	b.waitFor("the inline error", text("#modal", "add @Paligo"))
	if r, _ := st.Routes(""); len(r) != 0 {
		t.Errorf("a refused form saved routes: %v", r)
	}
	b.screenshot("route-inline-error")
	b.run("choose #data-alerts", selectOptions(runFailed, "C0DATAALERTS"), chromedp.Click(chromedp.CSS("#modal-submit")))
	b.waitFor("the form closed", `!document.querySelector('#modal') && document.querySelector('#command')`)
	if r, _ := st.Routes(""); fmt.Sprint(r["run.failed"]) != "[C0DATAALERTS]" {
		t.Errorf("routes after the form: %v", r)
	}

	// 3. A run.failed event through the real ingest API lands in the channel.
	b.open("U0ADA", "C0DATAALERTS")
	b.waitFor("the run.failed sample", `document.querySelector('#kind').value === 'run.failed' && document.querySelector('#event-json').value.includes('run.failed')`)
	b.press("send the sample", "#send-event")
	b.waitFor("the post in #data-alerts", text("#messages", "Run failed")+` && `+text("#messages", "Nightly dbt build"))
	b.waitFor("the ingest answer", text("#event-answer", `202 {"accepted":1`))
	b.screenshot("run-failed-in-channel")

	// 3b. The data team's subscriptions, typed in each channel: the
	// finance schedule's failure goes to #finance-data, not to
	// #marketing-data.
	b.open("U0ADA", "C0FINANCE")
	b.run("subscribe #finance-data", chromedp.SendKeys(chromedp.CSS("#command"), "/route-alerts subscribe run.failed project=finance environment!=staging\r"))
	b.waitFor("the subscription repeated", text("#messages", "Subscribed")+` && `+text("#messages", "run.failed project=finance environment!=staging"))
	b.open("U0ADA", "C0MARKETING")
	b.run("subscribe #marketing-data", chromedp.SendKeys(chromedp.CSS("#command"), "/route-alerts subscribe run.failed project=marketing\r"))
	b.waitFor("the second subscription", text("#messages", "run.failed project=marketing"))
	b.open("U0ADA", "C0FINANCE")
	b.waitFor("the run.failed sample", `document.querySelector('#kind').value === 'run.failed' && document.querySelector('#event-json').value.includes('"project": "finance"')`)
	b.press("send the finance sample", "#send-event")
	b.waitFor("the post in #finance-data", text("#messages", "Run failed")+` && `+text("#messages", "Nightly dbt build"))
	b.run("list", chromedp.SendKeys(chromedp.CSS("#command"), "/route-alerts list\r"))
	b.waitFor("this channel's subscriptions", text("#messages", "1. run.failed project=finance environment!=staging"))
	b.screenshot("subscription-in-channel")
	h := &harness{main: d.Main, t: t}
	h.waitDelivered(ctx)
	for _, m := range d.Slack.Messages("C0MARKETING") {
		if !m.Ephemeral {
			t.Errorf("#marketing-data got the finance schedule's failure: %q", m.Text)
		}
	}

	// 3c. #data-alerts holds one living message for the nightly schedule:
	// the finance sample's failure went into the first one's thread. Ada
	// acknowledges it and asks for a re-run (the page stands in for the
	// platform); the recovery is broadcast and the parent shows it.
	b.open("U0ADA", "C0DATAALERTS")
	b.waitFor("one parent with its reply", `document.querySelectorAll('#messages .msg').length === 1 && `+text("#messages", "1 reply")+` && `+text("#messages", "2 updates"))
	b.run("acknowledge", b.markPage(), chromedp.Click(chromedp.CSS(`#messages button[data-action-id="`+views.ActionLivingAck+`"]`)))
	b.waitFor("acknowledged on the parent", b.reloaded()+` && `+text("#messages", "Acknowledged by")+` && `+text("#messages", "2 replies"))
	b.run("re-run", b.markPage(), chromedp.Click(chromedp.CSS(`#messages button[data-action-id="`+views.ActionLivingPlatform+`rerun"]`)))
	b.waitFor("the re-run requested", b.reloaded()+` && `+text("#messages", "Re-run requested by")+` && `+text("#messages", "3 replies"))
	b.run("subscribe run.succeeded", chromedp.SendKeys(chromedp.CSS("#command"), "/route-alerts subscribe run.succeeded\r"))
	b.waitFor("the subscription", text("#messages", "Subscribed"))
	b.pick("run.succeeded")
	b.press("send the run.succeeded sample", "#send-event")
	b.waitFor("the recovery in the channel", text("#messages", "replied to a thread")+` && `+text("#messages", "Succeeded")+` && `+text("#messages", "3 updates"))
	// The recovery is drawn by a reload of the page: the sample chosen
	// before it is still the one chosen.
	b.waitFor("the chosen sample kept across the reload", `document.querySelector('#kind').value === 'run.succeeded' && `+
		`document.querySelector('#event-json').value.includes('"run.succeeded"')`)
	b.run("open the thread", chromedp.Click(chromedp.CSS(`#messages a.replies`)))
	b.waitFor("the thread beside the channel", text("#thread", "Acknowledged by")+` && `+text("#thread", "Re-run requested by")+` && `+text("#thread", "Run succeeded"))
	b.screenshot("living-message")
	// The README's picture is this moment of today's page
	// (PALIGO_DEMO_PICTURE=1 writes it into docs/).
	b.picture("../docs/demo.png")
	// At 800 px (half a laptop's screen) nothing is cut: the page and the
	// channel do not scroll sideways, and the composer, the messages, their
	// fields, the thread and the sample panel fit in the window.
	b.narrow(800, 1000)
	h.waitDelivered(ctx)
	if l, ok, _ := st.LivingOf("C0DATAALERTS", "schedule:nightly-dbt"); !ok || l.Updates != 3 || l.Status != "succeeded" || l.AckedBy != "" || len(l.Log) != 1 {
		t.Errorf("#data-alerts' living message: %+v", l)
	}

	// 3d. Alertmanager's own webhook, as Alertmanager sends it: the group
	// fires, then resolves, in #oncall (which hears the senders' alerts):
	// one living message whose parent turns resolved.
	b.open("U0ADA", "C0ONCALL")
	b.pickSample("Alertmanager: firing", `"status": "firing"`)
	b.press("send Alertmanager's firing group", "#send-event")
	b.waitFor("the alert group in #oncall", text("#messages", "System alert")+` && `+text("#messages", "2 alerts firing")+` && `+text("#event-answer", `202 {"accepted":1`))
	b.pickSample("Alertmanager: resolved", `"status": "resolved"`)
	b.press("send Alertmanager's resolved group", "#send-event")
	b.waitFor("the group resolved", text("#messages", "replied to a thread")+` && `+text("#messages", "Resolved")+` && `+text("#messages", "2 updates"))
	if n := len(d.Slack.ChannelView("C0ONCALL")); n != 2 {
		t.Errorf("#oncall shows %d messages, want the parent and the broadcast resolution", n)
	}
	b.screenshot("alert-group-resolved")

	// 3e. Answering back: Ada replies in the group's thread (#oncall says
	// replies=on), and the platform hears it; the reply gets its mark.
	b.run("open the alert's thread", chromedp.Click(chromedp.CSS(`#messages a.replies`)))
	b.waitFor("the thread beside the channel", `document.querySelector('#thread') && document.querySelector('#composer').dataset.thread !== ''`)
	b.run("reply in the thread", chromedp.SendKeys(chromedp.CSS("#command"), "Rolled back api-2, watching it\r"))
	b.waitFor("the platform heard the reply", text("#heard", "reply by Ada Admin")+` && `+text("#heard", "Rolled back api-2")+` && document.querySelector('#thread .reaction')`)
	// A link to a subject the bot knows, pasted in #data-alerts, is
	// previewed; Send to Paligo, from the message's menu, sends it.
	b.open("U0ADA", "C0DATAALERTS")
	b.run("paste a link", chromedp.SendKeys(chromedp.CSS("#command"), "Why did https://app.paradime.example/schedules/nightly-dbt fail?\r"))
	b.waitFor("the preview", `document.querySelector('#messages .unfurl') && `+text("#messages .unfurl", "Nightly dbt build"))
	b.screenshot("link-preview")
	b.waitFor("the message's menu", `(() => { const m = [...document.querySelectorAll('#messages [data-shortcut]')].pop();
		if (!m || document.body.dataset.ready !== 'true') return false; m.click(); return true; })()`)
	subject := fmt.Sprintf(`.bk-input[data-block-id=%q] select`, views.BlockSendSubject)
	b.waitFor("the Send to Paligo form", `document.querySelector('#modal') && document.querySelector(`+fmt.Sprintf("%q", subject)+`) && document.querySelector(`+fmt.Sprintf("%q", subject)+`).options.length > 1`)
	b.run("choose the schedule and send", chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := chromedp.Evaluate[bool](`(() => { const s = document.querySelector(`+fmt.Sprintf("%q", subject)+`);
			s.value = [...s.options].find(o => o.textContent.includes('Nightly dbt build')).value; return true; })()`)(ctx, t)
		return err
	}), chromedp.Click(chromedp.CSS("#modal-submit")))
	b.waitFor("the platform heard the message", text("#heard", "message by Ada Admin")+` && `+text("#heard", "Why did"))
	b.screenshot("send-to-paligo")
	b.open("U0ADA", "C0DATAALERTS")

	// 4. Ada invites Eve and Finn with the form and a note.
	b.run("type /paligo-invite", chromedp.SendKeys(chromedp.CSS("#command"), "/paligo-invite\r"))
	users := fmt.Sprintf(`.bk-input[data-block-id=%q] select`, views.BlockInviteUsers)
	b.waitFor("the invitation form", `document.querySelector(`+fmt.Sprintf("%q", users)+`)`)
	b.run("choose Eve and Finn", selectOptions(users, "U0EVE", "U0FINN"),
		chromedp.SendKeys(chromedp.CSS(fmt.Sprintf(`.bk-input[data-block-id=%q] textarea`, views.BlockInviteNote)), "Welcome to the docs team!"))
	b.screenshot("invite-form")
	b.run("send the invitations", chromedp.Click(chromedp.CSS("#modal-submit")))
	b.waitFor("the form closed", `!document.querySelector('#modal')`)
	b.open("U0ADA", "dm")
	b.waitFor("the inviter's summary", text("#messages", "Invitations: 2 sent, 0 skipped, 0 failed"))
	b.screenshot("invite-summary")
	b.open("U0EVE", "dm")
	b.waitFor("Eve's invitation", text("#messages", "Accept invitation")+` && `+text("#messages", "Welcome to the docs team!"))
	b.screenshot("invitation-dm")
	if inv, _ := st.RecentInvites(team, 10); len(inv) != 2 {
		t.Errorf("%d invitations recorded, want 2", len(inv))
	}

	// 5. An hour later (on the page's clock: the link is checked with the
	// program's one clock), Eve follows her link to the stand-in sign-up
	// page and accepts; Ada is told.
	link, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](`document.querySelector('button[data-url]').dataset.url`))
	if err != nil || !strings.HasPrefix(link, d.PageURL+"/invite?") || !strings.Contains(link, "token=") {
		t.Fatalf("the Accept invitation button links to %q (%v)", link, err)
	}
	b.run("an hour passes", b.markPage(), chromedp.Click(chromedp.CSS(`button[data-advance="1h"]`)))
	b.waitFor("the page an hour later", b.reloaded())
	b.run("follow the link", chromedp.Navigate(link))
	b.waitFor("the invitation page", text("body", "invited eve@paligo.example"))
	b.run("accept", chromedp.Click(chromedp.CSS("#accept")))
	b.waitFor("accepted", `!document.querySelector('#accepted').hidden`)
	b.screenshot("invitation-accepted")
	b.open("U0ADA", "dm")
	b.waitFor("the inviter told", text("#messages", "Invitation accepted"))
	if got := texts(d.Slack, d.Slack.DMChannel("U0ADA")); count(got, "Invitation accepted: Eve Newcomer joined Paligo") != 1 {
		t.Errorf("Ada's DMs: %q", got)
	}

	// 6. The clock: Dee (a daily digest, in Kolkata) gets a reply queued,
	// then a day passes on the page's clock and her digest arrives.
	b.open("U0DEE", "dm")
	b.pick("comment.reply")
	b.press("send the comment.reply sample", "#send-event")
	b.waitFor("the reply accepted", text("#event-answer", `202 {"accepted":1`))
	if err := poll(ctx, 20*time.Millisecond, func() bool { n, _ := st.PendingDigest(team, "U0DEE"); return n == 1 }); err != nil {
		t.Fatal("the reply was not queued for Dee's digest")
	}
	if got := len(digestDMs(d.Slack, "U0DEE")); got != 0 {
		t.Fatalf("Dee got %d digests before her time", got)
	}
	b.run("a day passes", b.markPage(), chromedp.Click(chromedp.CSS(`button[data-advance="24h"]`)))
	b.waitFor("Dee's digest", b.reloaded()+` && `+text("#messages", "Your Paligo digest"))
	b.screenshot("digest-after-a-day")
	if got := len(digestDMs(d.Slack, "U0DEE")); got != 1 {
		t.Errorf("Dee got %d digests after a day, want 1", got)
	}

	// 6b. Ada's company connects a second workspace, Northwind Docs, as a
	// vendor's customer would: the platform's Connect button, Slack's
	// authorize page, and back, on the new workspace as its admin. There
	// Nora subscribes #pipeline-alerts and a run.failed event for the
	// northwind org lands in it, and nothing of it in the first workspace.
	b.open("U0ADA", "home")
	b.waitFor("the Connect button", `document.querySelector('#connect')`)
	b.run("connect", b.markPage(), chromedp.Click(chromedp.CSS("#connect")))
	b.waitFor("back on the new workspace", b.reloaded()+` && document.body.dataset.ws === 'T0NORTH' && document.body.dataset.as === 'U0NORA' && !document.querySelector('#connect')`)
	b.waitFor("Nora's Home tab", `document.querySelector('.surface[data-surface=home]')`)
	b.screenshot("second-workspace-connected")
	in, found, _ := st.Installation("T0NORTH")
	if !found || in.Org != "northwind" || in.Installer != "U0NORA" || in.InstallerEmail != "nora@northwind.example" || in.Disconnected != "" {
		t.Fatalf("the second workspace's installation: %+v %v", in, found)
	}
	second, _ := d.Slack.Workspace("T0NORTH")
	firstPosts := len(d.Slack.Calls("chat.postMessage"))
	b.run("open #pipeline-alerts", chromedp.Navigate(b.page+"/?ws=T0NORTH&as=U0NORA&at=C0NWALERTS"), chromedp.WaitReady(chromedp.CSS("body")))
	b.run("subscribe #pipeline-alerts", chromedp.SendKeys(chromedp.CSS("#command"), "/route-alerts subscribe run.failed\r"))
	b.waitFor("the subscription", text("#messages", "Subscribed"))
	b.waitFor("the northwind sample", `document.querySelector('#event-json').value.includes('"org": "northwind"')`)
	b.press("send the sample", "#send-event")
	b.waitFor("the post in the second workspace", text("#messages", "Run failed")+` && `+text("#messages", "Nightly dbt build"))
	b.screenshot("second-workspace-alert")
	h.waitDelivered(ctx)
	if got := texts(second, "C0NWALERTS"); len(got) != 1 {
		t.Errorf("#pipeline-alerts of the second workspace: %q", got)
	}
	if n := len(d.Slack.Calls("chat.postMessage")); n != firstPosts {
		t.Errorf("the first workspace took %d posts for the second's event", n-firstPosts)
	}
	if subs, _ := st.Subscriptions("T0NORTH", ""); len(subs) != 1 || subs[0].Channel != "C0NWALERTS" {
		t.Errorf("the second workspace's subscriptions: %+v", subs)
	}

	// 7. No other site can use the page: it is framed by no one, and a site
	// whose name points at this machine (DNS rebinding) gets nothing.
	headers, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](`fetch(location.href).then(r => r.headers.get('content-security-policy') + ' | ' + r.headers.get('x-frame-options'))`,
		chromedp.EvalAwaitPromise))
	if err != nil || !strings.Contains(headers, "frame-ancestors 'none'") || !strings.HasSuffix(headers, "| DENY") {
		t.Errorf("the page's headers as the browser sees them: %q (%v)", headers, err)
	}
	framed, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](`new Promise(done => {
		const f = document.createElement('iframe');
		f.src = '/app.css';
		f.onload = () => { let shown = 'blocked'; try { if (f.contentDocument && f.contentDocument.body.textContent.length > 0) shown = 'shown'; } catch (e) {} done(shown); };
		document.body.appendChild(f);
	})`, chromedp.EvalAwaitPromise))
	if err != nil || framed != "blocked" {
		t.Errorf("the page in a frame: %q (%v), want blocked", framed, err)
	}
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(d.PageURL, "http://"))
	rev := d.Slack.Rev()
	b.run("visit as evil.example", chromedp.Navigate("http://evil.example:"+port+"/"))
	b.waitFor("the refusal", text("body", "answers only at its own address"))
	b.screenshot("dns-rebinding-refused")
	if got, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](`fetch('/api/command', {method: 'POST', headers: {'Content-Type': 'application/json'},
		body: JSON.stringify({as: 'U0ADA', channel: 'C0GENERAL', text: '/route-alerts list'})}).then(r => String(r.status))`,
		chromedp.EvalAwaitPromise)); err != nil || got != "421" {
		t.Errorf("a command posted from evil.example: %q (%v), want 421", got, err)
	}
	if d.Slack.Rev() != rev {
		t.Error("the workspace changed for a request from evil.example")
	}

	mu.Lock()
	if len(alerts) > 0 {
		t.Errorf("the page raised alerts: %q", alerts)
	}
	mu.Unlock()
	for _, secret := range []string{d.Secret, d.Slack.BotToken(), d.Slack.AppToken()} {
		if strings.Contains(logs.String(), secret) {
			t.Error("a secret is in the demo's logs")
		}
	}
}
