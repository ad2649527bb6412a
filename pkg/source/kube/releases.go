package kube

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/util/retry"
	"k8s.io/utils/ptr"

	"github.com/serin-dev/serin/pkg/api/v1alpha1"
	"github.com/serin-dev/serin/pkg/canary"
	serinclient "github.com/serin-dev/serin/pkg/client/clientset/versioned"
	"github.com/serin-dev/serin/pkg/ident"
)

// ReleasesDataKey is the ConfigMap key holding a Canary's releases as a
// JSON array, oldest first.
const ReleasesDataKey = "releases.json"

// Labels of the release-history ConfigMaps.
const (
	LabelManagedBy = "app.kubernetes.io/managed-by"
	LabelCanary    = "serin.dev/canary"
)

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

// ReleaseLog keeps each Canary's release history in a ConfigMap in the
// Canary's namespace, serin-canary-<name>-releases, owned by the Canary so
// that it is garbage-collected with it. Only the leader writes (the engine
// saves only while leading); any replica reads, from the API server, so a
// new leader sees its predecessor's last write.
type ReleaseLog struct {
	kube  kubernetes.Interface
	serin serinclient.Interface
}

var _ canary.ReleaseLog = (*ReleaseLog)(nil)

// NewReleaseLog returns a ReleaseLog over the API server.
func NewReleaseLog(cfg *rest.Config) (*ReleaseLog, error) {
	kc, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("kube: kubernetes client: %w", err)
	}
	sc, err := serinclient.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("kube: serin client: %w", err)
	}
	return newReleaseLog(kc, sc), nil
}

func newReleaseLog(kc kubernetes.Interface, sc serinclient.Interface) *ReleaseLog {
	return &ReleaseLog{kube: kc, serin: sc}
}

// ReleasesConfigMapName is the name of the ConfigMap holding the releases
// of the Canary named canaryName. A name that would pass the 253-character
// limit is shortened and suffixed with a hash of the whole name.
func ReleasesConfigMapName(canaryName string) string {
	const prefix, suffix = "serin-canary-", "-releases"
	return prefix + shorten(canaryName, 253-len(prefix)-len(suffix)) + suffix
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
	cm, err := l.kube.CoreV1().ConfigMaps(key.Namespace).Get(ctx, ReleasesConfigMapName(key.Name), metav1.GetOptions{})
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
// (a leader on its way out) changed it in between.
func (l *ReleaseLog) SaveRelease(key ident.Key, r canary.Release) error {
	ctx, cancel := context.WithTimeout(context.Background(), releaseTimeout)
	defer cancel()
	name := ReleasesConfigMapName(key.Name)
	retriable := func(err error) bool { return apierrors.IsConflict(err) || apierrors.IsAlreadyExists(err) }
	err := retry.OnError(retry.DefaultRetry, retriable, func() error {
		cn, err := l.serin.SerinV1alpha1().Canaries(key.Namespace).Get(ctx, key.Name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		cms := l.kube.CoreV1().ConfigMaps(key.Namespace)
		cm, err := cms.Get(ctx, name, metav1.GetOptions{})
		exists := err == nil
		switch {
		case apierrors.IsNotFound(err):
			cm = &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: key.Namespace, Name: name}}
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
		cm.OwnerReferences = ownedBy(cm.OwnerReferences, cn)
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

// ownedBy points refs at cn, replacing a reference to an earlier Canary of
// the same name (deleted and re-created before the garbage collector got
// to the ConfigMap: the new one keeps the history, as in file mode).
// BlockOwnerDeletion stays unset: setting it would need update permission
// on canaries/finalizers.
func ownedBy(refs []metav1.OwnerReference, cn *v1alpha1.Canary) []metav1.OwnerReference {
	out := refs[:0:0]
	for _, ref := range refs {
		if ref.Kind == "Canary" && strings.HasPrefix(ref.APIVersion, v1alpha1.GroupName+"/") {
			continue
		}
		out = append(out, ref)
	}
	return append(out, metav1.OwnerReference{
		APIVersion: v1alpha1.SchemeGroupVersion.String(),
		Kind:       "Canary",
		Name:       cn.Name,
		UID:        cn.UID,
		Controller: ptr.To(true),
	})
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
