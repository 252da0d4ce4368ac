package store_test

import (
	"io"
	"net"
	"net/url"
	"sync"
	"testing"

	"github.com/paligo/paligo-slack/store/storetest"
)

// Ping answers for the database itself: with PostgreSQL gone it fails
// (/healthz said "ok" while ingest answered 503), and it heals when the
// server is back.
func TestPingFailsWhilePostgresIsGone(t *testing.T) {
	dsn := storetest.Postgres(t)
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	p := newTCPProxy(t, u.Host)
	u.Host = p.addr
	s := mustOpenAt(t, u.String())
	if err := s.Ping(); err != nil {
		t.Fatalf("ping with the server up: %v", err)
	}
	p.cut()
	if err := s.Ping(); err == nil {
		t.Fatal("ping said the store is fine with the server gone")
	}
	p.resume()
	if err := s.Ping(); err != nil {
		// The pool may hand out a dead connection once more.
		if err := s.Ping(); err != nil {
			t.Fatalf("ping with the server back: %v", err)
		}
	}
}

// tcpProxy forwards connections to a server; cut closes every connection
// and refuses new ones until resume.
type tcpProxy struct {
	addr   string
	target string
	ln     net.Listener
	mu     sync.Mutex
	down   bool
	conns  []net.Conn
}

func newTCPProxy(tb testing.TB, target string) *tcpProxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	p := &tcpProxy{addr: ln.Addr().String(), target: target, ln: ln}
	tb.Cleanup(func() { ln.Close(); p.cut() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			p.mu.Lock()
			down := p.down
			p.mu.Unlock()
			if down {
				c.Close()
				continue
			}
			s, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, s)
			p.mu.Unlock()
			go func() { io.Copy(s, c); s.Close() }()
			go func() { io.Copy(c, s); c.Close() }()
		}
	}()
	return p
}

func (p *tcpProxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.down = true
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

func (p *tcpProxy) resume() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.down = false
}
