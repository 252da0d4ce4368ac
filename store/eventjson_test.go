package store

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/paligo/paligo-slack/paligo"
)

// fillEvent sets every exported field of an Event, nested ones too, to a
// value built from s, by reflection: a field added to paligo.Event that
// appendEvent does not write makes the comparison with json.Marshal fail.
func fillEvent(t *testing.T, s string, n int) paligo.Event {
	var e paligo.Event
	var fill func(v reflect.Value, name string)
	fill = func(v reflect.Value, name string) {
		switch v.Kind() {
		case reflect.String:
			v.SetString(name + s)
		case reflect.Uint64, reflect.Uint32, reflect.Uint:
			v.SetUint(uint64(n))
		case reflect.Int64, reflect.Int, reflect.Int32:
			v.SetInt(int64(n))
		case reflect.Bool:
			v.SetBool(n%2 == 1)
		case reflect.Pointer:
			v.Set(reflect.New(v.Type().Elem()))
			fill(v.Elem(), name)
		case reflect.Slice:
			v.Set(reflect.MakeSlice(v.Type(), 2, 2))
			fill(v.Index(0), name+"0")
			fill(v.Index(1), name+"1")
		case reflect.Map:
			m := reflect.MakeMap(v.Type())
			for _, k := range []string{"zeta", "alpha", "<b>", s} {
				val := reflect.New(v.Type().Elem()).Elem()
				fill(val, k)
				m.SetMapIndex(reflect.ValueOf(k).Convert(v.Type().Key()), val)
			}
			v.Set(m)
		case reflect.Struct:
			if v.Type() == reflect.TypeFor[time.Time]() {
				v.Set(reflect.ValueOf(time.Date(2026, 12, 7, 22, 30, n%60, n*1001, time.FixedZone("x", 3600*(n%5)))))
				return
			}
			for i := range v.NumField() {
				if v.Type().Field(i).IsExported() {
					fill(v.Field(i), name+v.Type().Field(i).Name)
				}
			}
		default:
			t.Fatalf("fillEvent: a %s field (%s): teach the test and appendEvent", v.Kind(), name)
		}
	}
	fill(reflect.ValueOf(&e).Elem(), "")
	return e
}

func sameAsMarshal(t *testing.T, e *paligo.Event) {
	t.Helper()
	want, wantErr := json.Marshal(e)
	got, err := appendEvent([]byte("prefix"), e)
	if (err != nil) != (wantErr != nil) {
		t.Fatalf("error %v, json.Marshal's %v", err, wantErr)
	}
	if err != nil {
		return
	}
	if !bytes.HasPrefix(got, []byte("prefix")) || !bytes.Equal(got[len("prefix"):], want) {
		t.Fatalf("appendEvent wrote\n%s\njson.Marshal writes\n%s", got, want)
	}
}

func TestAppendEventIsJSONMarshal(t *testing.T) {
	for i, s := range []string{
		"plain", "", `quote " and \ backslash`, "<script>&amp;</script>", "line\nbreak\ttab\rcr\bbs\ffeed\x00nul\x1f",
		"é ü 日本 🙂", "bad utf-8 \xff\xfe end", "\u2028 and \u2029", "\xe2\x80", "trailing \xc3",
	} {
		e := fillEvent(t, s, i+1)
		sameAsMarshal(t, &e)
		// And with the optional parts left out.
		e.Actor, e.Subject, e.Recipients, e.Fields, e.Channels, e.Actions = nil, nil, nil, nil, nil, nil
		e.Text, e.Team, e.Org, e.Thread, e.Seq = "", "", "", "", 0
		sameAsMarshal(t, &e)
		e.Actor, e.Subject = &paligo.Person{Name: s}, &paligo.Subject{Kind: "topic"}
		e.OccurredAt, e.ReceivedAt = time.Time{}, time.Now()
		sameAsMarshal(t, &e)
	}
	// Times json.Marshal refuses are refused alike; others it writes as
	// it does.
	for _, at := range []time.Time{
		time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(-1, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(2026, 1, 1, 0, 0, 0, 0, time.FixedZone("", 24*3600+60)),
		time.Date(2026, 1, 1, 0, 0, 0, 0, time.FixedZone("", -(5*3600+30*60+15))),
		time.Date(2026, 1, 1, 0, 0, 0, 5, time.FixedZone("", -(23*3600+59*60))),
	} {
		e := paligo.Event{ID: "t", Type: "comment.reply", OccurredAt: at, ReceivedAt: time.Now()}
		sameAsMarshal(t, &e)
	}
}

func FuzzAppendEvent(f *testing.F) {
	f.Add("id", "text", "k", "v", int64(0))
	f.Add("<&>", "\u2028\xff", "", "\x00", int64(1700000000123456789))
	f.Fuzz(func(t *testing.T, id, text, k, v string, nanos int64) {
		e := paligo.Event{ID: id, Type: paligo.Kind(k), Text: text, Fields: map[string]string{k: v, v: k},
			Subject: &paligo.Subject{Kind: k, ID: v, Title: text}, Recipients: []string{v},
			OccurredAt: time.Unix(0, nanos).UTC(), ReceivedAt: time.Unix(0, nanos).In(time.FixedZone("", 3600))}
		sameAsMarshal(t, &e)
	})
}
