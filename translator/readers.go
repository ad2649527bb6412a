package translator

// Who read what: cells register as readers of the cells they read, and are
// marked to compile again when what they read moves.

// readsMissing reports whether the cell read an object that was missing.
func (c *cell[T, R]) readsMissing() bool {
	for i := range c.reads {
		if c.reads[i].n == nil {
			return true
		}
	}
	return false
}

// listen registers a cell (its node) as a reader of what it read.
func (tr *Translator) listen(me *node, reads []read) {
	for _, r := range reads {
		if r.n == nil {
			continue
		}
		rs := r.n.readers
		if k := len(rs); k > 0 && rs[k-1].n == me && rs[k-1].content == r.content {
			continue // compiled again, reading the same
		}
		// A reader compiled again appends itself again; compact when the
		// list doubles, so that it stays proportional to its readers.
		if k := len(rs); k >= 8 && k&(k-1) == 0 {
			rs = compactReaders(rs)
		}
		if rs == nil {
			rs = make([]reader, 0, 2) // most cells are read by one or two others
		}
		r.n.readers = append(rs, reader{n: me, content: r.content})
	}
}

// mark makes the readers of n compile again in this run: all of them when
// its shape moved, else those that read its content.
func (tr *Translator) mark(n *node, shape bool) {
	for _, r := range n.readers {
		if (shape || r.content) && r.n.dirty != tr.run && !r.n.gone {
			r.n.dirty = tr.run
			if r.n.pending != nil {
				*r.n.pending = append(*r.n.pending, r.n.idx)
			}
		}
	}
	n.readers = compactReaders(n.readers)
}

// compactReaders drops gone and repeated readers.
func compactReaders(rs []reader) []reader {
	seen := make(map[reader]bool, len(rs))
	out := rs[:0]
	for _, r := range rs {
		if r.n.gone || seen[r] {
			continue
		}
		seen[r] = true
		out = append(out, r)
	}
	return out
}

// readsHold reports whether everything a cell read is as it was.
func (tr *Translator) readsHold(reads []read) bool {
	for i := range reads {
		r := &reads[i]
		if r.n == nil {
			if tr.exists(r.missing) {
				return false
			}
			continue
		}
		if r.n.gone {
			return false
		}
		stamp := r.n.shape
		if r.content {
			stamp = r.n.content
		}
		if stamp != r.stamp {
			return false
		}
	}
	return true
}
