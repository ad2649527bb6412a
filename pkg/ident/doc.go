// Package ident is the one place where serin names things: an object's key
// (namespace and name, namespace defaulted), a reference to an object of a
// kind, the Envoy names built from keys (clusters, listeners, virtual hosts,
// route configurations), fleets, and the identity of an xDS resource (its
// type and name).
//
// Every package that needs "the cluster of Upstream default/myapp-v2" or
// "the Canary named in this string" asks here, so that two packages can
// never disagree on how a name is built or parsed.
package ident
