package snapshot

import (
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"google.golang.org/protobuf/encoding/protojson"
)

// JSONResource is one served resource on the admin API.
type JSONResource struct {
	Name    string          `json:"name"`
	Version string          `json:"version"`
	API     bool            `json:"apiListener,omitempty"`
	Value   json.RawMessage `json:"resource"`
}

// JSONSnapshot is a snapshot on the admin API (GET /api/v1/snapshot?fleet=F).
type JSONSnapshot struct {
	Fleet     string            `json:"fleet"`
	Published time.Time         `json:"published"`
	Versions  map[string]string `json:"versions"`
	Draining  []string          `json:"draining,omitempty"`
	Clusters  []JSONResource    `json:"clusters"`
	Endpoints []JSONResource    `json:"endpoints"`
	Listeners []JSONResource    `json:"listeners"`
	Routes    []JSONResource    `json:"routes"`
}

// JSON renders the snapshot for the admin API, resources through protojson.
func (s *Snapshot) JSON() *JSONSnapshot {
	out := &JSONSnapshot{
		Fleet:     s.Fleet,
		Published: s.Published,
		Versions:  map[string]string{},
		Draining:  s.draining,
	}
	lists := [NumKinds]*[]JSONResource{&out.Clusters, &out.Endpoints, &out.Listeners, &out.Routes}
	for k := range NumKinds {
		out.Versions[k.String()] = s.Version(k)
		*lists[k] = []JSONResource{}
		for _, r := range s.Resources(k) {
			b, err := protojson.Marshal(r.Message)
			if err != nil {
				// An extension type not linked in (see register.go) must
				// not hide the rest of the snapshot.
				b, _ = json.Marshal(map[string]string{"error": fmt.Sprintf("%s %q to JSON: %v", k, r.Name, err)})
			}
			*lists[k] = append(*lists[k], JSONResource{Name: r.Name, Version: r.Version, API: r.API, Value: b})
		}
	}
	return out
}

// SnapshotJSON returns the fleet's snapshot (the default fleet's when the
// fleet does not exist) as indented JSON; false before the first snapshot.
// It fits admin.Backend.Snapshot.
func (c *Cache) SnapshotJSON(fleet string) ([]byte, bool) {
	s := c.Snapshot(fleet)
	if s == nil {
		return nil, false
	}
	b, err := json.MarshalIndent(s.JSON(), "", "  ")
	return b, err == nil
}

// Handler serves GET ?fleet=F (default "default"; an unknown fleet gets the
// default fleet, as a node would) with the fleet's snapshot as JSON; 503
// before the first snapshot.
func (c *Cache) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fleet := r.URL.Query().Get("fleet")
		s := c.Snapshot(fleet)
		if s == nil {
			http.Error(w, "no snapshot published yet", http.StatusServiceUnavailable)
			return
		}
		js := s.JSON()
		w.Header().Set("Content-Type", "application/json")
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		_ = enc.Encode(js)
	})
}
