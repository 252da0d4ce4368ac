package store

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/paligo/paligo-slack/paligo"
)

// Installations: the workspaces connected through the Connect flow
// (connect/), by team id, with the org of the Connect link; and the OAuth
// states of Connect flows under way, each used once.

var (
	bucketInstallations    = []byte("installations")     // team -> paligo.Installation
	bucketInstallationOrgs = []byte("installation_orgs") // org -> team
	bucketOAuthStates      = []byte("oauth_states")      // seq -> paligo.OAuthState
)

// NewOAuthState stores st and returns its number (which its signed token
// carries).
func (s workspaceRecords) NewOAuthState(st paligo.OAuthState) (uint64, error) {
	var seq uint64
	err := s.update(func(tx kvTx) error {
		b := tx.Bucket(bucketOAuthStates)
		var err error
		if seq, err = b.NextSequence(); err != nil {
			return err
		}
		return putJSON(b, u64(seq), st)
	})
	return seq, err
}

// TakeOAuthState removes the state seq and returns it; found is false when
// there is none (never made, or used already).
func (s workspaceRecords) TakeOAuthState(seq uint64) (st paligo.OAuthState, found bool, err error) {
	err = s.update(func(tx kvTx) error {
		b := tx.Bucket(bucketOAuthStates)
		st, found, err = getTxJSON[paligo.OAuthState](b, u64(seq))
		if err != nil || !found {
			return err
		}
		return b.Delete(u64(seq))
	})
	return st, found, err
}

// ErrConnectedElsewhere refuses to save an installation of a workspace
// that is connected to another org: it moves only once that org has
// disconnected it.
var ErrConnectedElsewhere = errors.New("the workspace is connected to another org")

// SaveInstallation stores in (by its team), replacing the one before: a
// reinstall keeps when it was first installed. It returns the stored one,
// or ErrConnectedElsewhere (nothing changed) when the workspace is
// connected to an org other than in's.
func (s workspaceRecords) SaveInstallation(in paligo.Installation) (paligo.Installation, error) {
	now := s.Now().UTC()
	err := s.update(func(tx kvTx) error {
		b := tx.Bucket(bucketInstallations)
		old, found, err := getTxJSON[paligo.Installation](b, []byte(in.Team))
		if err != nil {
			return err
		}
		if found && old.Disconnected == "" && old.Org != "" && old.Org != in.Org {
			return ErrConnectedElsewhere
		}
		in.InstalledAt, in.UpdatedAt = now, now
		if found {
			in.InstalledAt = old.InstalledAt
			if old.Org != "" && old.Org != in.Org {
				if err := tx.Bucket(bucketInstallationOrgs).Delete([]byte(old.Org)); err != nil {
					return err
				}
			}
		}
		if in.Org != "" {
			if err := tx.Bucket(bucketInstallationOrgs).Put([]byte(in.Org), []byte(in.Team)); err != nil {
				return err
			}
		}
		if err := bumpInstallationsVersion(tx); err != nil {
			return err
		}
		return putJSON(b, []byte(in.Team), in)
	})
	return in, err
}

// keyInstallationsVersion counts the changes to installations, in meta: a
// replica that holds workspaces' clients learns from it that another
// replica changed one (InstallationsVersion).
var keyInstallationsVersion = []byte("installations_version")

func installationsVersion(tx kvTx) uint64 {
	if v := tx.Bucket(bucketMeta).Get(keyInstallationsVersion); len(v) == 8 {
		return binary.BigEndian.Uint64(v)
	}
	return 0
}

func bumpInstallationsVersion(tx kvTx) error {
	return tx.Bucket(bucketMeta).Put(keyInstallationsVersion, u64(installationsVersion(tx)+1))
}

// InstallationsVersion changes whenever an installation is saved or
// disconnected, by any process sharing the database.
func (s workspaceRecords) InstallationsVersion() (uint64, error) {
	var v uint64
	err := s.db.view(func(tx kvTx) error {
		v = installationsVersion(tx)
		return nil
	})
	return v, err
}

// Installation returns the installation of team.
func (s workspaceRecords) Installation(team string) (paligo.Installation, bool, error) {
	return getJSON[paligo.Installation](s.Store, bucketInstallations, []byte(team))
}

// InstallationOfOrg returns the installation connected for org.
func (s workspaceRecords) InstallationOfOrg(org string) (paligo.Installation, bool, error) {
	var in paligo.Installation
	var found bool
	err := s.db.view(func(tx kvTx) (err error) {
		team := tx.Bucket(bucketInstallationOrgs).Get([]byte(org))
		if team == nil {
			return nil
		}
		in, found, err = getTxJSON[paligo.Installation](tx.Bucket(bucketInstallations), team)
		return err
	})
	return in, found, err
}

// Installations lists every installation, by team id.
func (s workspaceRecords) Installations() ([]paligo.Installation, error) {
	var out []paligo.Installation
	err := s.db.view(func(tx kvTx) (err error) {
		out, err = listJSON[paligo.Installation](tx.Bucket(bucketInstallations))
		return err
	})
	return out, err
}

// Disconnect marks team's installation disconnected for reason (its
// tokens are dropped) and returns it; found is false when there is none,
// or it was disconnected already.
func (s workspaceRecords) Disconnect(team, reason string) (in paligo.Installation, found bool, err error) {
	now := s.Now().UTC()
	err = s.update(func(tx kvTx) error {
		b := tx.Bucket(bucketInstallations)
		var ok bool
		in, ok, err = getTxJSON[paligo.Installation](b, []byte(team))
		if err != nil || !ok || in.Disconnected != "" {
			return err
		}
		found = true
		in.BotTokenSealed, in.RefreshTokenSealed, in.TokenExpires = "", "", time.Time{}
		in.Disconnected, in.DisconnectedAt, in.UpdatedAt = reason, now, now
		if err := bumpInstallationsVersion(tx); err != nil {
			return err
		}
		return putJSON(b, []byte(team), in)
	})
	if err != nil {
		return in, false, fmt.Errorf("disconnect %s: %w", team, err)
	}
	return in, found, nil
}
