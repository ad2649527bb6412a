package xds

import (
	"time"

	"github.com/serin-dev/serin/snapshot"
)

// ackState tracks the responses of one type sent on a stream and how the
// client answered them.
type ackState struct {
	sentVersion string
	sentNonce   string
	sentAt      time.Time
	sentNames   []string           // resources in the last response
	sentSnap    *snapshot.Snapshot // it came from, for NACK attribution
	// inFlight: the last response was neither ACKed nor NACKed yet.
	inFlight      bool
	ackedVersion  string
	nackedVersion string
	lastNack      *Nack
}

// answer is what a request's response_nonce and error_detail say about the
// responses sent before it.
type answer int

const (
	// answerNone: a first request, or one naming a nonce from a previous
	// stream or server, which means nothing here.
	answerNone answer = iota
	// answerStale names an older response than the latest: the client
	// has not seen the latest yet.
	answerStale
	// answerRepeat names the latest response, already answered.
	answerRepeat
	answerAck
	answerNack
)

// sent records a response.
func (a *ackState) sent(version, nonce string, at time.Time, names []string, snap *snapshot.Snapshot) {
	a.sentVersion, a.sentNonce, a.sentAt, a.sentNames, a.sentSnap = version, nonce, at, names, snap
	a.inFlight = true
}

// answer applies a request's response_nonce; rejected is whether it
// carries an error_detail.
func (a *ackState) answer(nonce string, rejected bool) answer {
	if nonce == "" || a.sentNonce == "" {
		return answerNone
	}
	if nonce != a.sentNonce {
		return answerStale
	}
	if !a.inFlight {
		// Envoy keeps error_detail (and the nonce) on every later request
		// of the type until a new response arrives, e.g. when its EDS
		// subscription changes after a NACK: that is the same rejection,
		// not a new one, and counting it again would inflate the metric,
		// the log and the onNack hook.
		return answerRepeat
	}
	a.inFlight = false
	if rejected {
		a.nackedVersion = a.sentVersion
		return answerNack
	}
	a.ackedVersion = a.sentVersion
	return answerAck
}

// resumed notes the version a client had from a previous stream, which its
// first request names.
func (a *ackState) resumed(version string) {
	if version != "" {
		a.ackedVersion = version
	}
}

// rejectedLatest reports whether the client NACKed the latest response.
func (a *ackState) rejectedLatest() bool {
	return a.lastNack != nil && a.lastNack.Nonce == a.sentNonce
}

// nackStands reports whether the last NACK still stands: no later version
// was sent since.
func (a *ackState) nackStands() bool {
	return a.lastNack != nil && a.lastNack.Version == a.sentVersion
}
