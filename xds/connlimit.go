package xds

import (
	"net"
	"sync"
)

// DefaultMaxConnections bounds the xDS port's open connections: one per
// Envoy (or proxyless client), so 2x the 5,000 nodes serin-load has run,
// plus room for replicas' reconnect churn. A connection costs a few tens
// of KiB (gRPC's read and write buffers) before it opens any stream.
const DefaultMaxConnections = 10_000

// LimitConnections returns a listener that accepts at most max open
// connections: one over the bound is closed at once (the client sees a
// connection reset and backs off) and counted in
// serin_xds_refused_total{reason="too_many_connections"}. max <= 0 is no
// bound. Pass the Server whose metrics count the refusals.
func LimitConnections(lis net.Listener, max int, s *Server) net.Listener {
	if max <= 0 {
		return lis
	}
	return &limitListener{Listener: lis, max: max, s: s}
}

type limitListener struct {
	net.Listener
	max int
	s   *Server

	mu   sync.Mutex
	open int
}

func (l *limitListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		l.mu.Lock()
		if l.open >= l.max {
			l.mu.Unlock()
			c.Close()
			if l.s != nil {
				l.s.metrics.refused.WithLabelValues("too_many_connections").Inc()
			}
			continue
		}
		l.open++
		l.mu.Unlock()
		return &limitConn{Conn: c, l: l}, nil
	}
}

type limitConn struct {
	net.Conn
	l    *limitListener
	once sync.Once
}

func (c *limitConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() {
		c.l.mu.Lock()
		c.l.open--
		c.l.mu.Unlock()
	})
	return err
}
