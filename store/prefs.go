package store

import (
	"encoding/json"
	"fmt"
	"slices"

	"github.com/paligo/paligo-slack/paligo"
)

func prefsKey(team, user string) []byte { return []byte(team + "/" + user) }

// Prefs returns the user's preferences, or DefaultPrefs if they never saved
// any.
func (s ruleRecords) Prefs(team, user string) (paligo.Prefs, error) {
	var p paligo.Prefs
	err := s.db.view(func(tx kvTx) error {
		var err error
		p, err = getPrefs(tx, team, user)
		return err
	})
	return p, err
}

// UpdatePrefs applies fn to the user's preferences and saves the result in
// one transaction. If fn returns an error nothing is saved.
func (s ruleRecords) UpdatePrefs(team, user string, fn func(*paligo.Prefs) error) (paligo.Prefs, error) {
	var p paligo.Prefs
	err := s.update(func(tx kvTx) error {
		var err error
		if p, err = getPrefs(tx, team, user); err != nil {
			return err
		}
		before := followKeys(p.Follows) // fn may reuse the slice
		if err := fn(&p); err != nil {
			return err
		}
		p.UpdatedAt = s.Now().UTC()
		if err := indexFollows(tx, team, user, before, followKeys(p.Follows)); err != nil {
			return err
		}
		return putPrefs(tx, team, user, p)
	})
	if err != nil {
		return paligo.Prefs{}, err
	}
	return p, nil
}

func getPrefs(tx kvTx, team, user string) (paligo.Prefs, error) {
	v := tx.Bucket(bucketPrefs).Get(prefsKey(team, user))
	if v == nil {
		return paligo.DefaultPrefs(), nil
	}
	p := paligo.DefaultPrefs()
	if err := json.Unmarshal(v, &p); err != nil {
		return paligo.Prefs{}, fmt.Errorf("decode prefs of %s/%s: %w", team, user, err)
	}
	return p, nil
}

func putPrefs(tx kvTx, team, user string, p paligo.Prefs) error {
	v, err := json.Marshal(p)
	if err != nil {
		return fmt.Errorf("encode prefs: %w", err)
	}
	return tx.Bucket(bucketPrefs).Put(prefsKey(team, user), v)
}

func followKeys(ss []paligo.Subject) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = s.Key()
	}
	return out
}

// followerKey is the followers index key: subject key, NUL, "team/user".
func followerKey(subject, teamUser string) []byte {
	return []byte(subject + "\x00" + teamUser)
}

// indexFollows brings the followers index from before to after.
func indexFollows(tx kvTx, team, user string, before, after []string) error {
	b, who := tx.Bucket(bucketFollowers), string(prefsKey(team, user))
	for _, k := range before {
		if !slices.Contains(after, k) {
			if err := b.Delete(followerKey(k, who)); err != nil {
				return err
			}
		}
	}
	for _, k := range after {
		if !slices.Contains(before, k) {
			if err := b.Put(followerKey(k, who), nil); err != nil {
				return err
			}
		}
	}
	return nil
}
