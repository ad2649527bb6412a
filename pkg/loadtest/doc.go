// Package loadtest drives serin (or a bare go-control-plane server, the
// baseline) with thousands of Envoy-like ADS clients and measures what
// users feel: the time from a configuration change to every client ACKing
// a version that contains it, the bytes and responses that cost, how long
// a connect storm takes to be served, and the server's memory per idle
// client. cmd/serin-load is its command line; e2e/load_test.go runs a
// CI-sized version.
//
// How a change is recognised: change k sets the canary weight of service
// k mod N to CanaryWeight(k), a value no earlier change used and larger than
// every earlier one for that service. The first client to receive a route
// version decodes it once (a Registry shared by every client) and notes the
// weights of the changed services; a version contains change k when its
// weight for the service is at least CanaryWeight(k). Every client logs
// (version, time) for each RDS response it ACKs; latencies are computed
// after the run, so the clients' receive paths stay cheap.
package loadtest
