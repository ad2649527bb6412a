package xds

import (
	"testing"
	"time"
)

// How each request's nonce and error_detail answer the responses sent.
func TestAckStateAnswers(t *testing.T) {
	var a ackState
	if got := a.answer("1", false); got != answerNone {
		t.Errorf("before any response: %v, want answerNone", got)
	}
	now := time.Now()
	a.sent("v1", "1", now, []string{"a"}, nil)
	if !a.inFlight || a.sentVersion != "v1" || a.sentNonce != "1" {
		t.Fatalf("after sent: %+v", a)
	}
	if got := a.answer("", false); got != answerNone || !a.inFlight {
		t.Errorf("no nonce: %v %+v", got, a)
	}
	if got := a.answer("1", false); got != answerAck || a.inFlight || a.ackedVersion != "v1" {
		t.Errorf("ACK: %v %+v", got, a)
	}
	if got := a.answer("1", true); got != answerRepeat || a.nackedVersion != "" {
		t.Errorf("the answered response again: %v %+v", got, a)
	}

	a.sent("v2", "2", now, nil, nil)
	a.sent("v3", "3", now, nil, nil)
	if got := a.answer("2", false); got != answerStale || !a.inFlight || a.ackedVersion != "v1" {
		t.Errorf("older nonce: %v %+v", got, a)
	}
	if got := a.answer("3", true); got != answerNack || a.inFlight || a.nackedVersion != "v3" || a.ackedVersion != "v1" {
		t.Errorf("NACK: %v %+v", got, a)
	}
	a.lastNack = &Nack{Version: "v3", Nonce: "3"}
	if !a.rejectedLatest() || !a.nackStands() {
		t.Errorf("after the NACK: rejectedLatest %v, nackStands %v", a.rejectedLatest(), a.nackStands())
	}
	if got := a.answer("3", true); got != answerRepeat {
		t.Errorf("Envoy repeating the error_detail: %v, want answerRepeat", got)
	}
	a.sent("v4", "4", now, nil, nil)
	if a.rejectedLatest() || a.nackStands() {
		t.Error("the NACK still counts after a later version was sent")
	}

	var b ackState
	b.resumed("")
	b.resumed("v0")
	if b.ackedVersion != "v0" {
		t.Errorf("resumed: %+v", b)
	}
}
