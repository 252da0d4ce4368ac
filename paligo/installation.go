package paligo

import "time"

// Installation is a workspace connected through the Connect flow: the app
// installed by one of its people for an org of the platform. The tokens
// are kept sealed (Sealer), never in the clear.
type Installation struct {
	Team       string `json:"team"`
	TeamName   string `json:"team_name,omitempty"`
	Enterprise string `json:"enterprise,omitempty"`
	BotUser    string `json:"bot_user,omitempty"`
	Scopes     string `json:"scopes,omitempty"`
	// Installer is who installed it (a Slack user id), InstallerEmail the
	// email Slack gives them, which the Connect link's had to be.
	Installer      string `json:"installer,omitempty"`
	InstallerEmail string `json:"installer_email,omitempty"`
	Org            string `json:"org,omitempty"`
	// BotTokenSealed and RefreshTokenSealed are the tokens, sealed for
	// Team; TokenExpires is when the bot token expires (zero: never, no
	// token rotation).
	BotTokenSealed     string    `json:"bot_token_sealed,omitempty"`
	RefreshTokenSealed string    `json:"refresh_token_sealed,omitempty"`
	TokenExpires       time.Time `json:"token_expires,omitzero"`
	InstalledAt        time.Time `json:"installed_at"`
	UpdatedAt          time.Time `json:"updated_at"`
	// Disconnected says why the workspace is no longer served ("" while
	// it is): uninstalled, tokens revoked, disconnected by the platform.
	Disconnected   string    `json:"disconnected,omitempty"`
	DisconnectedAt time.Time `json:"disconnected_at,omitzero"`
}

// OAuthState is a Connect flow under way: what the platform's Connect
// link said, kept until Slack sends the browser back (once).
type OAuthState struct {
	Org     string    `json:"org"`
	Email   string    `json:"email"`
	Return  string    `json:"return"`
	Expires time.Time `json:"expires"`
}
