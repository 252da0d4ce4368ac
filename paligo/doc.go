// Package paligo is the product's own vocabulary and rules, with no I/O: the
// event kinds and what each means (Kinds), events, people and subjects, a
// person's preferences, the delivery decision (Decide: now, in a digest, or
// not at all), digest windows in a person's time zone (DigestWindow,
// DigestDue), invitations and their signed tokens. It imports nothing of
// this project; the store keeps these types, the views draw them, delivery
// and the handlers act on them.
package paligo
