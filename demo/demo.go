// Package demo is the local workspace of `paligo-slack demo`: a fake Slack
// workspace seeded with people and channels, and a web page on which a
// person sees what Slack would show each of them (Home tab, DMs, channels,
// modals) and acts on it. Clicks, selections, submissions and typed slash
// commands reach the bot as the Socket Mode envelopes Slack would send;
// sample events go through the bot's real, signed ingest API.
package demo

import (
	"sync"
	"time"

	"github.com/paligo/paligo-slack/fakeslack"
)

// Workspace is the demo workspace: who is in it and its channels.
func Workspace() fakeslack.Options {
	return fakeslack.Options{
		TeamID: "T0DEMO", TeamName: "Paligo Demo",
		Users: []fakeslack.User{
			{ID: "U0ADA", Name: "ada", RealName: "Ada Admin", Email: "ada@paligo.example", TZ: "Europe/Stockholm", IsAdmin: true},
			{ID: "U0BO", Name: "bo", RealName: "Bo Writer", Email: "bo@paligo.example", TZ: "Europe/London"},
			{ID: "U0CY", Name: "cy", RealName: "Cy Reviewer", Email: "cy@paligo.example", TZ: "America/New_York"},
			{ID: "U0DEE", Name: "dee", RealName: "Dee Data", Email: "dee@paligo.example", TZ: "Asia/Kolkata"},
			{ID: "U0EVE", Name: "eve", RealName: "Eve Newcomer", Email: "eve@paligo.example", TZ: "Europe/Berlin"},
			{ID: "U0FINN", Name: "finn", RealName: "Finn Newcomer", Email: "finn@paligo.example", TZ: "Europe/Helsinki"},
			{ID: "U0ROBOT", Name: "deploybot", RealName: "Deploy Bot", IsBot: true},
		},
		Channels: []fakeslack.Channel{
			{ID: "C0GENERAL", Name: "general"},
			{ID: "C0DOCS", Name: "docs"},
			{ID: "C0RELEASES", Name: "releases"},
			{ID: "C0DATAALERTS", Name: "data-alerts"},
			// A data team's channels: subscriptions send each team's
			// schedules here (/route-alerts subscribe … project=finance).
			{ID: "C0FINANCE", Name: "finance-data"},
			{ID: "C0MARKETING", Name: "marketing-data"},
			{ID: "C0ONCALL", Name: "oncall", IsPrivate: true, BotIsMember: true},
			// Private, and Paligo was never added: routing to it is refused
			// in the form, as in Slack.
			{ID: "C0LEADS", Name: "leadership", IsPrivate: true},
		},
	}
}

// Second is the workspace the demo connects through the Connect flow, as
// a vendor's customer would: press Connect on the page (the platform's
// settings) and approve the install in Slack. Its people have user ids of
// their own (Slack's are unique), its admin Nora installs it, and her
// email is the one the Connect link names.
func Second() fakeslack.WorkspaceOptions {
	return fakeslack.WorkspaceOptions{
		TeamID: "T0NORTH", TeamName: "Northwind Docs",
		Users: []fakeslack.User{
			{ID: "U0NORA", Name: "nora", RealName: "Nora Northwind", Email: "nora@northwind.example", TZ: "America/Chicago", IsAdmin: true},
			{ID: "U0SAM", Name: "sam", RealName: "Sam Support", Email: "sam@northwind.example", TZ: "America/Denver"},
		},
		Channels: []fakeslack.Channel{
			{ID: "C0NWGENERAL", Name: "general"},
			{ID: "C0NWALERTS", Name: "pipeline-alerts"},
		},
	}
}

// SecondOrg is the platform's org the second workspace is connected for.
const SecondOrg = "northwind"

// Clock is the demo's time: the real time moved forward by the page's
// clock control, so digests can be seen without waiting for them.
type Clock struct {
	mu     sync.Mutex
	offset time.Duration
}

// Now is the demo time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.offset)
}

// Advance moves the demo time forward by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.offset += d
}
