package store

import (
	"sync"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Every page of the file that bbolt reads through its memory mapping stays
// in the program's resident set until the kernel needs the memory, also
// after the page's data has moved: bbolt writes a changed page elsewhere and
// frees the old one. Ids are indexed in the order they come, so a crowd of
// events touches pages all over the index, and the pages it left behind
// counted as the program's memory: 124 MB at 100,000 events a second, of
// which 12 MB was the heap. Once a second, when something was written, the
// store tells the kernel it no longer needs the mapping's pages (they stay
// in the kernel's page cache, so the next read of one finds it there): the
// resident set is then what was read in the last second.
const releaseEvery = time.Second

type residentPages struct {
	written atomic.Bool
	stop    chan struct{}
	stopped chan struct{}
	once    sync.Once
}

func (r *residentPages) start(s *Store) {
	r.stop, r.stopped = make(chan struct{}), make(chan struct{})
	go func() {
		defer close(r.stopped)
		t := time.NewTicker(releaseEvery)
		defer t.Stop()
		for {
			select {
			case <-r.stop:
				return
			case <-t.C:
				if r.written.Swap(false) {
					s.releaseMapped()
				}
			}
		}
	}()
}

func (r *residentPages) close() {
	if r.stop != nil {
		r.once.Do(func() { close(r.stop) })
		<-r.stopped
	}
}

// releaseMapped drops the mapping's pages from the resident set. It runs in
// a read transaction: bbolt moves its mapping only while none is open, so
// the address and the size hold while it runs.
func (s *Store) releaseMapped() error {
	return s.bolt.View(func(tx *bolt.Tx) error {
		return releasePages(s.bolt.Info().Data, tx.Size())
	})
}
