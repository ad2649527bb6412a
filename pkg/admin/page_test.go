package admin

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/serin-dev/serin/pkg/controlplane"
	"github.com/serin-dev/serin/pkg/load"
)

// TestListsArePaged: a list longer than the limit comes in pages with a
// continue token and a Link to the next; walking them yields every item
// once, in key order, even when items come and go between pages.
func TestListsArePaged(t *testing.T) {
	clusters := map[string]bool{}
	for i := range 1234 {
		clusters[fmt.Sprintf("c%05d", i*2)] = true
	}
	h := New(Backend{LoadReports: func() []load.Totals {
		out := make([]load.Totals, 0, len(clusters))
		for c := range clusters { // unordered: the API sorts
			out = append(out, load.Totals{Cluster: c})
		}
		return out
	}}, nil, "")

	var seen []string
	path := "/api/v1/loadreports?limit=100"
	pages := 0
	for path != "" {
		rec := get(t, h, path)
		if rec.Code != 200 {
			t.Fatalf("GET %s: %d %s", path, rec.Code, rec.Body)
		}
		var page []load.Totals
		if err := json.Unmarshal(rec.Body.Bytes(), &page); err != nil {
			t.Fatal(err)
		}
		if len(page) > 100 {
			t.Fatalf("page of %d items over the limit of 100", len(page))
		}
		for _, p := range page {
			seen = append(seen, p.Cluster)
		}
		pages++
		if pages == 3 {
			// Between pages: one item behind the cursor goes, one ahead
			// comes, one behind comes (not seen: it sorts before the cursor).
			delete(clusters, seen[0])
			clusters["c99999"] = true
			clusters["c00001"] = true
		}
		path = ""
		if tok := rec.Header().Get(ContinueHeader); tok != "" {
			link := rec.Header().Get("Link")
			if !strings.Contains(link, `rel="next"`) || !strings.Contains(link, "continue="+url.QueryEscape(tok)) {
				t.Fatalf("Link %q does not lead to the continue token %q", link, tok)
			}
			path = "/api/v1/loadreports?limit=100&continue=" + url.QueryEscape(tok)
		}
	}
	if want := 1234 + 1; len(seen) != want || pages != 13 {
		t.Fatalf("walked %d items in %d pages, want %d in 13", len(seen), pages, want)
	}
	for i := 1; i < len(seen); i++ {
		if seen[i] <= seen[i-1] {
			t.Fatalf("items out of order or repeated: %s after %s", seen[i], seen[i-1])
		}
	}
	if seen[len(seen)-1] != "c99999" {
		t.Fatalf("an item added ahead of the cursor was not seen: last %s", seen[len(seen)-1])
	}

	// Without ?limit: the default page.
	var first []load.Totals
	rec := get(t, h, "/api/v1/loadreports")
	if err := json.Unmarshal(rec.Body.Bytes(), &first); err != nil || len(first) != DefaultPageLimit || rec.Header().Get(ContinueHeader) == "" {
		t.Fatalf("default page: %d items, continue %q, err %v", len(first), rec.Header().Get(ContinueHeader), err)
	}
	for _, bad := range []string{"limit=0", "limit=-1", "limit=5001", "limit=x", "continue=!!!", "continue=" + strings.Repeat("A", 6000)} {
		if rec := get(t, h, "/api/v1/loadreports?"+bad); rec.Code != http.StatusBadRequest {
			t.Errorf("?%s: %d, want 400", bad, rec.Code)
		}
	}
}

// TestPagesWithEqualKeys: entries that share a key (a file with several
// errors is several "File" entries) are all returned, whatever page
// boundary falls among them.
func TestPagesWithEqualKeys(t *testing.T) {
	list := []controlplane.ResourceStatus{{Kind: "A", Name: "x"}}
	for i := range 5 {
		list = append(list, controlplane.ResourceStatus{Kind: "File", Name: "/cfg/a.yaml", Reason: fmt.Sprint("error ", i)})
	}
	list = append(list, controlplane.ResourceStatus{Kind: "Z", Name: "z"})
	h := New(Backend{Resources: func() []controlplane.ResourceStatus { return list }}, nil, "")
	for _, limit := range []int{1, 2, 3, 4, 7} {
		var got []string
		path := fmt.Sprintf("/api/v1/resources?limit=%d", limit)
		for path != "" {
			rec := get(t, h, path)
			var page []controlplane.ResourceStatus
			if err := json.Unmarshal(rec.Body.Bytes(), &page); err != nil {
				t.Fatal(err)
			}
			for _, p := range page {
				got = append(got, p.Kind+":"+p.Reason)
			}
			path = ""
			if tok := rec.Header().Get(ContinueHeader); tok != "" {
				path = fmt.Sprintf("/api/v1/resources?limit=%d&continue=%s", limit, url.QueryEscape(tok))
			}
		}
		want := "A: File:error 0 File:error 1 File:error 2 File:error 3 File:error 4 Z:"
		if strings.Join(got, " ") != want {
			t.Errorf("limit %d: walked %q, want %q", limit, strings.Join(got, " "), want)
		}
	}
}
