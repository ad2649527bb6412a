// Package file is serin's directory source: it decodes YAML and JSON files
// into API objects and keeps the store in sync with a directory tree.
//
// Decoding (Decode, DecodeObjects) is strict: unknown fields are errors that
// name the field's path and line. serin.dev/v1alpha1 is the API version;
// Gloo Edge's gloo.solo.io/v1 (Upstream, UpstreamGroup) and
// gateway.solo.io/v1 (VirtualService) load as aliases, so that Gloo YAML
// works verbatim. LineOf and Object.Line map a field path such as
// spec.destinations[1].weight to its line, so that validation and
// translation problems can point at it.
//
// The Source (New, Run) loads *.yaml, *.yml and *.json files, watches them
// with fsnotify, debounces bursts of changes and applies the whole tree to
// the store in one transaction. A file that becomes broken keeps its last
// good objects; see Source for the rules.
package file
