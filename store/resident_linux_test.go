package store

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/paligo/paligo-slack/paligo"
)

// mappedKB is the resident part of the process's mappings of path, in kB.
func mappedKB(t *testing.T, path string) int {
	t.Helper()
	f, err := os.Open("/proc/self/smaps")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	kb, in := 0, false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if fields := strings.Fields(line); len(fields) >= 5 && strings.Contains(fields[0], "-") && !strings.HasSuffix(fields[0], ":") {
			in = len(fields) >= 6 && fields[5] == path
			continue
		}
		if in && strings.HasPrefix(line, "Rss:") {
			n, _ := strconv.Atoi(strings.Fields(line)[1])
			kb += n
		}
	}
	return kb
}

func manyEvents(from, n int) []paligo.Event {
	evs := make([]paligo.Event, n)
	for i := range evs {
		evs[i] = paligo.Event{ID: fmt.Sprintf("ev-%d", from+i), Type: "comment.reply",
			Subject: &paligo.Subject{Kind: "topic", ID: strconv.Itoa(from + i), Title: "A topic title long enough to fill pages"}}
	}
	return evs
}

// TestTheFilesPagesLeaveTheResidentSetAfterWrites: the pages read through
// the mapping are given back within a second or two of a write, and every
// record still reads back after.
func TestTheFilesPagesLeaveTheResidentSetAfterWrites(t *testing.T) {
	path := filepath.Join(t.TempDir(), "r.db")
	s, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for i := 0; i < 20; i++ {
		if _, err := s.AcceptEvents(manyEvents(i*1000, 1000)); err != nil {
			t.Fatal(err)
		}
	}
	// Reading every page of the events makes them resident.
	touched := 0
	for range 20 {
		if n, err := s.EventCount(); err != nil || n != 20000 {
			t.Fatalf("%d events, %v", n, err)
		}
		if touched = mappedKB(t, path); touched > 2000 {
			break
		}
		if _, err := s.AcceptEvents(manyEvents(0, 1)); err != nil { // a duplicate: nothing written
			t.Fatal(err)
		}
	}
	if touched < 2000 {
		t.Fatalf("reading 20,000 events made %d kB of the file resident; the test needs more to mean anything", touched)
	}
	// One write, then no reads: within a few ticks the pages are released.
	if _, err := s.AcceptEvents(manyEvents(20000, 1)); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(3 * releaseEvery)
	left := mappedKB(t, path)
	for left > touched/10 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
		left = mappedKB(t, path)
	}
	if left > touched/10 {
		t.Fatalf("%d kB of the file still resident %v after a write, of %d kB read: the pages were not released", left, 3*releaseEvery, touched)
	}
	if n, err := s.EventCount(); err != nil || n != 20001 {
		t.Fatalf("after the release: %d events, %v; want 20001", n, err)
	}
	if e, ok, err := s.Event("ev-12345"); err != nil || !ok || e.Subject.ID != "12345" {
		t.Fatalf("ev-12345 after the release = %+v, %v, %v", e, ok, err)
	}
}

// TestReleasingWhileTheFileGrows releases the mapping over and over while
// writers grow the file (bbolt moves its mapping as it grows) and readers
// read: nothing is lost or misread.
func TestReleasingWhileTheFileGrows(t *testing.T) {
	s, err := Open(filepath.Join(t.TempDir(), "g.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	const writers, batches, per = 4, 25, 200
	stop := make(chan struct{})
	var bg sync.WaitGroup
	// Each runs op over and over until stop, failing the test on an error.
	untilStopped := func(op func() error) {
		bg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				if err := op(); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	untilStopped(s.releaseMapped)
	untilStopped(func() error { _, _, err := s.Event("w0-0"); return err })
	var w sync.WaitGroup
	for i := range writers {
		w.Add(1)
		go func() {
			defer w.Done()
			for b := range batches {
				evs := manyEvents(b*per, per)
				for j := range evs {
					evs[j].ID = fmt.Sprintf("w%d-%s", i, evs[j].ID)
				}
				if _, err := s.AcceptEvents(evs); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	w.Wait()
	close(stop)
	bg.Wait()
	if n, err := s.EventCount(); err != nil || n != writers*batches*per {
		t.Fatalf("%d events, %v; want %d", n, err, writers*batches*per)
	}
	for i := range writers {
		id := fmt.Sprintf("w%d-ev-%d", i, batches*per-1)
		if e, ok, err := s.Event(id); err != nil || !ok || e.ID != id {
			t.Fatalf("%s = %+v, %v, %v", id, e, ok, err)
		}
	}
	if size, _, _ := s.FileSize(); size < 4<<20 {
		t.Errorf("the file is %d bytes: it did not grow enough to move the mapping", size)
	}
}
