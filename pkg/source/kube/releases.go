package kube

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/util/retry"

	"github.com/serin-dev/serin/pkg/canary"
	serinclient "github.com/serin-dev/serin/pkg/client/clientset/versioned"
	"github.com/serin-dev/serin/pkg/ident"
)

// ReleasesDataKey is the ConfigMap key holding a Canary's releases as a
// JSON array, oldest first.
const ReleasesDataKey = "releases.json"

// Labels of the release-history ConfigMaps.
const (
	LabelManagedBy       = "app.kubernetes.io/managed-by"
	LabelCanary          = "serin.dev/canary"
	LabelCanaryNamespace = "serin.dev/canary-namespace"
)

// serviceAccountNamespaceFile is where Kubernetes mounts the namespace of
// a pod's service account.
const serviceAccountNamespaceFile = "/var/run/secrets/kubernetes.io/serviceaccount/namespace"

const (
	// maxKubeReleases is fewer than file mode keeps (50): the whole history
	// of a Canary is one object, rewritten on every decision.
	maxKubeReleases = 20
	// maxReleasesBytes bounds the JSON: the API server refuses ConfigMaps
	// over 1 MiB of data; half of that leaves room for metadata and makes
	// each rewrite (one per decision) cheap for etcd.
	maxReleasesBytes = 512 << 10
	// releaseTimeout bounds one Load or Save: the engine waits for it in its
	// decision loop, so a hung API server must not hold every canary.
	releaseTimeout       = 10 * time.Second
	releasesFieldManager = "serin-canary"
)

// ReleaseLog keeps each Canary's release history in a ConfigMap in
// serin's own namespace, serin-canary-<namespace>.<name>-releases. Not in
// the Canary's namespace: that would need write access to ConfigMaps in
// every namespace, and ConfigMaps hold other applications' configuration.
// The price is that the history is not garbage-collected with the Canary
// (an owner must be in its dependent's namespace); a Canary re-created
// under the same name takes it over, as in file mode. Only the leader
// writes (the engine saves only while leading); any replica reads, from
// the API server, so a new leader sees its predecessor's last write.
type ReleaseLog struct {
	kube      kubernetes.Interface
	serin     serinclient.Interface
	namespace string // where the ConfigMaps are
}

var _ canary.ReleaseLog = (*ReleaseLog)(nil)

// ReleaseLogOption configures a ReleaseLog.
type ReleaseLogOption func(*ReleaseLog)

// ReleasesInNamespace keeps the history in ns rather than in OwnNamespace.
func ReleasesInNamespace(ns string) ReleaseLogOption {
	return func(l *ReleaseLog) { l.namespace = ns }
}

// NewReleaseLog returns a ReleaseLog over the API server.
func NewReleaseLog(cfg *rest.Config, opts ...ReleaseLogOption) (*ReleaseLog, error) {
	kc, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("kube: kubernetes client: %w", err)
	}
	sc, err := serinclient.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("kube: serin client: %w", err)
	}
	l := newReleaseLog(kc, sc, OwnNamespace())
	for _, o := range opts {
		o(l)
	}
	return l, nil
}

func newReleaseLog(kc kubernetes.Interface, sc serinclient.Interface, ns string) *ReleaseLog {
	return &ReleaseLog{kube: kc, serin: sc, namespace: ns}
}

// OwnNamespace is the namespace serin runs in: $POD_NAMESPACE (the chart
// sets it from the downward API), else the namespace of the pod's service
// account, else "default", where kubectl puts objects out of a cluster.
func OwnNamespace() string {
	if ns := strings.TrimSpace(os.Getenv("POD_NAMESPACE")); ns != "" {
		return ns
	}
	if b, err := os.ReadFile(serviceAccountNamespaceFile); err == nil {
		if ns := strings.TrimSpace(string(b)); ns != "" {
			return ns
		}
	}
	return metav1.NamespaceDefault
}

// ReleasesConfigMapName is the name of the ConfigMap holding the releases
// of the Canary key. The dot keeps names of different Canaries apart: a
// namespace is a DNS label, so it has none. A name that would pass the
// 253-character limit is shortened and suffixed with a hash of the whole.
func ReleasesConfigMapName(key ident.Key) string {
	const prefix, suffix = "serin-canary-", "-releases"
	return prefix + shorten(key.Namespace+"."+key.Name, 253-len(prefix)-len(suffix)) + suffix
}

// shorten returns s when it has at most n characters, else a prefix of s,
// a dash and 10 hex digits of s's SHA-256 (distinct names stay distinct).
// The prefix loses trailing dots and dashes so the result stays a DNS
// subdomain and a label value.
func shorten(s string, n int) string {
	if len(s) <= n {
		return s
	}
	sum := sha256.Sum256([]byte(s))
	h := hex.EncodeToString(sum[:])[:10]
	return strings.TrimRight(s[:n-len(h)-1], ".-") + "-" + h
}

// Releases lists the Canary's releases, oldest first; none when it has no
// ConfigMap yet.
func (l *ReleaseLog) Releases(key ident.Key) ([]canary.Release, error) {
	ctx, cancel := context.WithTimeout(context.Background(), releaseTimeout)
	defer cancel()
	cm, err := l.kube.CoreV1().ConfigMaps(l.namespace).Get(ctx, ReleasesConfigMapName(key), metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("kube: load canary %s releases: %w", key, err)
	}
	list, err := decodeReleases(cm)
	if err != nil {
		return nil, fmt.Errorf("kube: canary %s releases: %w", key, err)
	}
	return list, nil
}

// SaveRelease inserts or replaces the release with r.Number, then drops
// the oldest releases beyond maxKubeReleases or maxReleasesBytes. It reads,
// changes and updates the ConfigMap, and starts over when another writer
// (a leader on its way out) changed it in between. It saves nothing for a
// Canary that is gone: its ConfigMap would be an orphan from the start.
func (l *ReleaseLog) SaveRelease(key ident.Key, r canary.Release) error {
	ctx, cancel := context.WithTimeout(context.Background(), releaseTimeout)
	defer cancel()
	name := ReleasesConfigMapName(key)
	retriable := func(err error) bool { return apierrors.IsConflict(err) || apierrors.IsAlreadyExists(err) }
	err := retry.OnError(retry.DefaultRetry, retriable, func() error {
		if _, err := l.serin.SerinV1alpha1().Canaries(key.Namespace).Get(ctx, key.Name, metav1.GetOptions{}); err != nil {
			return err
		}
		cms := l.kube.CoreV1().ConfigMaps(l.namespace)
		cm, err := cms.Get(ctx, name, metav1.GetOptions{})
		exists := err == nil
		switch {
		case apierrors.IsNotFound(err):
			cm = &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: l.namespace, Name: name}}
		case err != nil:
			return err
		}
		// A history that does not decode is started over rather than
		// blocking every later save.
		list, _ := decodeReleases(cm)
		data, err := encodeReleases(canary.UpsertRelease(list, r, maxKubeReleases))
		if err != nil {
			return err
		}
		if cm.Labels == nil {
			cm.Labels = map[string]string{}
		}
		cm.Labels[LabelManagedBy] = "serin"
		cm.Labels[LabelCanary] = shorten(key.Name, 63)
		cm.Labels[LabelCanaryNamespace] = key.Namespace
		cm.Data = map[string]string{ReleasesDataKey: string(data)}
		if exists {
			_, err = cms.Update(ctx, cm, metav1.UpdateOptions{FieldManager: releasesFieldManager})
		} else {
			_, err = cms.Create(ctx, cm, metav1.CreateOptions{FieldManager: releasesFieldManager})
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("kube: save canary %s release %d: %w", key, r.Number, err)
	}
	return nil
}

func decodeReleases(cm *corev1.ConfigMap) ([]canary.Release, error) {
	s := cm.Data[ReleasesDataKey]
	if s == "" {
		return nil, nil
	}
	var list []canary.Release
	if err := json.Unmarshal([]byte(s), &list); err != nil {
		return nil, fmt.Errorf("configmap %s key %s: %w", cm.Name, ReleasesDataKey, err)
	}
	return list, nil
}

// encodeReleases encodes list within maxReleasesBytes: it drops the oldest
// releases first and, should the newest alone be too big (up to 1,000
// decisions), the oldest tenth of its decisions at a time.
func encodeReleases(list []canary.Release) ([]byte, error) {
	for {
		b, err := json.Marshal(list)
		if err != nil {
			return nil, fmt.Errorf("encode releases: %w", err)
		}
		if len(b) <= maxReleasesBytes {
			return b, nil
		}
		if len(list) > 1 {
			list = list[1:]
			continue
		}
		d := list[0].Decisions
		if len(d) == 0 {
			return nil, fmt.Errorf("encode releases: release %d alone is %d bytes, over %d", list[0].Number, len(b), maxReleasesBytes)
		}
		last := list[0]
		last.Decisions = d[max(1, len(d)/10):]
		list = []canary.Release{last}
	}
}
