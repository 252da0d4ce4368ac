package fakeslack

import (
	"fmt"
	"net/http"
	"slices"
	"sync"
)

// Several workspaces, as one Slack serves an app installed in many: the
// server New returns is the first workspace and the one listener; each
// AddWorkspace is another workspace with its own team, bot token, people,
// channels, messages, views, call log, rate limits and faults, on the same
// Web API URL (a call is answered by the workspace its token belongs to)
// and the same Socket Mode connections and Request URL (the app's, which
// receives every workspace's envelopes, each naming its team). OAuth
// installs into the workspace the authorize URL's team names, else the one
// InstallInto chose, else the first.

// WorkspaceOptions describe a workspace added with AddWorkspace; zero
// values take the first workspace's (its rates, its bot user id).
type WorkspaceOptions struct {
	TeamID   string // required, e.g. "T0SECOND"
	TeamName string // default the team id
	BotToken string // default "xoxb-" + TeamID + "-bot-token"
	BotUser  string
	// ChannelRate, ChannelBurst and MethodRates as in Options.
	ChannelRate  float64
	ChannelBurst int
	MethodRates  map[string]MethodRate
	Users        []User
	Channels     []Channel
}

// workspaces is the root server's index of its workspaces.
type workspaces struct {
	mu          sync.Mutex
	byTeam      map[string]*Server
	byToken     map[string]*Server // bot tokens of added workspaces and tokens issued by any
	order       []*Server
	installInto *Server
}

// AddWorkspace adds a workspace to the fake Slack s and returns it; its
// URL, app token and signing secret are s's.
func (s *Server) AddWorkspace(o WorkspaceOptions) *Server {
	root := s.top()
	if o.TeamID == "" {
		panic("fakeslack: AddWorkspace needs a TeamID")
	}
	opts := root.opts
	opts.TeamID, opts.TeamName, opts.BotToken = o.TeamID, o.TeamName, o.BotToken
	if opts.TeamName == "" {
		opts.TeamName = o.TeamID
	}
	if opts.BotToken == "" {
		opts.BotToken = "xoxb-" + o.TeamID + "-bot-token"
	}
	if o.BotUser != "" {
		opts.BotUser = o.BotUser
	}
	if o.ChannelRate > 0 {
		opts.ChannelRate, opts.ChannelBurst = o.ChannelRate, o.ChannelBurst
	}
	if o.MethodRates != nil {
		opts.MethodRates = o.MethodRates
	}
	opts.Users, opts.Channels = o.Users, o.Channels
	w := newState(opts)
	w.root, w.http, w.ws = root, root.http, root.ws
	ws := root.ws
	ws.mu.Lock()
	defer ws.mu.Unlock()
	if _, dup := ws.byTeam[o.TeamID]; dup {
		panic(fmt.Sprintf("fakeslack: workspace %s added twice", o.TeamID))
	}
	ws.byTeam[o.TeamID] = w
	ws.byToken[opts.BotToken] = w
	ws.order = append(ws.order, w)
	return w
}

// Workspace returns the workspace with team id team.
func (s *Server) Workspace(team string) (*Server, bool) {
	ws := s.top().ws
	ws.mu.Lock()
	defer ws.mu.Unlock()
	w, ok := ws.byTeam[team]
	return w, ok
}

// Workspaces returns the workspaces added with AddWorkspace, in order.
func (s *Server) Workspaces() []*Server {
	ws := s.top().ws
	ws.mu.Lock()
	defer ws.mu.Unlock()
	return slices.Clone(ws.order)
}

// InstallInto makes the next OAuth installs (without a team in the
// authorize URL) go to workspace w.
func (s *Server) InstallInto(w *Server) {
	ws := s.top().ws
	ws.mu.Lock()
	defer ws.mu.Unlock()
	ws.installInto = w
}

// top is the root server: the listener, the sockets, the Request URL.
func (s *Server) top() *Server {
	if s.root != nil {
		return s.root
	}
	return s
}

// ownerOf is the workspace that answers a call made with token (for
// oauth.v2.access, the one that issued its code or refresh token).
func (s *Server) ownerOf(method, token string, c *Call) *Server {
	ws := s.ws
	if method == "oauth.v2.access" {
		ws.mu.Lock()
		all := append([]*Server{s}, ws.order...)
		ws.mu.Unlock()
		for _, w := range all {
			w.mu.Lock()
			_, code := w.codes[c.Arg("code")]
			_, rt := w.refresh[c.Arg("refresh_token")]
			w.mu.Unlock()
			if code || rt {
				return w
			}
		}
		return s
	}
	ws.mu.Lock()
	defer ws.mu.Unlock()
	if w, ok := ws.byToken[token]; ok {
		return w
	}
	return s
}

// issuedBy files token, just issued, under workspace w.
func (s *Server) issuedBy(w *Server, token string) {
	ws := s.top().ws
	ws.mu.Lock()
	defer ws.mu.Unlock()
	ws.byToken[token] = w
}

// installTarget is the workspace an authorize request installs into.
func (s *Server) installTarget(r *http.Request) *Server {
	ws := s.ws
	ws.mu.Lock()
	defer ws.mu.Unlock()
	if w, ok := ws.byTeam[r.URL.Query().Get("team")]; ok {
		return w
	}
	if ws.installInto != nil {
		return ws.installInto
	}
	return s
}
