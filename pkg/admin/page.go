package admin

import (
	"encoding/base64"
	"errors"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// Every list endpoint answers in pages, so that no request, however large
// the fleet or the configuration, makes serin build or a client read an
// unbounded answer. The body stays a JSON array (a client that never
// pages reads the first page as it read the whole list before); when more
// items follow, the answer carries
//
//	X-Serin-Continue: <token>
//	Link: </api/v1/nodes?limit=500&continue=<token>>; rel="next"
//
// and the next page is ?continue=<token> (with the same limit). Items are
// in a stable order by key, and a token is the last key of its page, so
// paging stays correct while items come and go: an item added behind the
// cursor is not seen, none is seen twice.
const (
	// DefaultPageLimit is the page size without ?limit.
	DefaultPageLimit = 500
	// MaxPageLimit is the largest ?limit accepted.
	MaxPageLimit = 5000
	// ContinueHeader carries the token of the next page.
	ContinueHeader = "X-Serin-Continue"
)

// pageParams reads ?limit and ?continue; it answers 400 itself and returns
// ok=false on a bad value.
func pageParams(w http.ResponseWriter, r *http.Request) (limit int, after cursor, ok bool) {
	q := r.URL.Query()
	limit = DefaultPageLimit
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > MaxPageLimit {
			http.Error(w, "limit: want a number from 1 to "+strconv.Itoa(MaxPageLimit), http.StatusBadRequest)
			return 0, cursor{}, false
		}
		limit = n
	}
	if tok := q.Get("continue"); tok != "" {
		c, err := parseCursor(tok)
		if err != nil {
			http.Error(w, "continue: not a token this API issued", http.StatusBadRequest)
			return 0, cursor{}, false
		}
		after = c
	}
	return limit, after, true
}

// cursor is where a page ended: the last key, and how many items with
// that key were returned up to there (keys need not be unique: a file
// with several errors is several entries of one key).
type cursor struct {
	key  string
	seen int
	set  bool
}

func (c cursor) token() string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.Itoa(c.seen) + "\x00" + c.key))
}

func parseCursor(tok string) (cursor, error) {
	if len(tok) > 4096 {
		return cursor{}, errors.New("too long")
	}
	b, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil {
		return cursor{}, err
	}
	n, key, ok := strings.Cut(string(b), "\x00")
	seen, err := strconv.Atoi(n)
	if !ok || err != nil || seen < 1 {
		return cursor{}, errors.New("malformed")
	}
	return cursor{key: key, seen: seen, set: true}, nil
}

// writePage writes the page of items (sorted by key here, equal keys in
// the order given) after the request's continue token.
func writePage[T any](w http.ResponseWriter, r *http.Request, items []T, key func(*T) string) {
	limit, after, ok := pageParams(w, r)
	if !ok {
		return
	}
	keys := make([]string, len(items))
	idx := make([]int, len(items))
	for i := range items {
		keys[i], idx[i] = key(&items[i]), i
	}
	slices.SortStableFunc(idx, func(a, b int) int { return strings.Compare(keys[a], keys[b]) })
	start := 0
	if after.set {
		// The first item of the cursor's key, then past those already seen
		// (never past the last of that key).
		lo, _ := slices.BinarySearchFunc(idx, after.key, func(i int, k string) int { return strings.Compare(keys[i], k) })
		hi := lo
		for hi < len(idx) && keys[idx[hi]] == after.key {
			hi++
		}
		start = min(lo+after.seen, hi)
	}
	end := min(start+limit, len(idx))
	out := make([]T, 0, end-start)
	for _, i := range idx[start:end] {
		out = append(out, items[i])
	}
	if end < len(idx) {
		last := keys[idx[end-1]]
		first := end - 1
		for first > 0 && keys[idx[first-1]] == last {
			first--
		}
		tok := cursor{key: last, seen: end - first}.token()
		w.Header().Set(ContinueHeader, tok)
		next := url.URL{Path: r.URL.Path, RawQuery: withContinue(r.URL.Query(), limit, tok)}
		w.Header().Set("Link", "<"+next.String()+`>; rel="next"`)
	}
	writeJSON(w, out)
}

func withContinue(q url.Values, limit int, tok string) string {
	q = maps.Clone(q) // Set replaces values: a shallow copy is enough
	q.Set("limit", strconv.Itoa(limit))
	q.Set("continue", tok)
	return q.Encode()
}
