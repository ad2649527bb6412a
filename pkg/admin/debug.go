package admin

import (
	"net/http"
	"net/http/pprof"
)

// Debug is pprof on a mux of its own, for serve's --debug-addr. It is not
// on the admin API: a CPU profile or a trace costs the process seconds of
// work and shows its command line, and the admin port is reachable from
// the network while this one must be loopback (CheckDebugAddr).
func Debug() http.Handler {
	m := http.NewServeMux()
	m.HandleFunc("GET /debug/pprof/", pprof.Index)
	m.HandleFunc("GET /debug/pprof/cmdline", pprof.Cmdline)
	m.HandleFunc("GET /debug/pprof/profile", pprof.Profile)
	m.HandleFunc("GET /debug/pprof/symbol", pprof.Symbol)
	m.HandleFunc("GET /debug/pprof/trace", pprof.Trace)
	return m
}
