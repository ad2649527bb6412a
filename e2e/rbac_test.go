package e2e

import (
	"os"
	"slices"
	"strings"
	"testing"

	rbacv1 "k8s.io/api/rbac/v1"
	"sigs.k8s.io/yaml"
)

// TestRenderedRBAC reads the RBAC of the committed manifests (rendered
// from the chart by make generate) and holds it to least privilege:
// cluster-wide, serin writes no ConfigMaps or Secrets (other applications'
// configuration and credentials) and reads no Secrets; it reads pods'
// labels for pod selectors but gets no pod, subresource or write access.
// What it writes besides status (the Lease, the release history) is in
// its own namespace.
func TestRenderedRBAC(t *testing.T) {
	b, err := os.ReadFile("../deploy/kubernetes/serin.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var clusterRoles, roles int
	var releaseRole bool
	for _, doc := range strings.Split(string(b), "\n---\n") {
		var head struct{ Kind string }
		if err := yaml.Unmarshal([]byte(doc), &head); err != nil {
			t.Fatalf("decode %q: %v", doc, err)
		}
		switch head.Kind {
		case "ClusterRole":
			var r rbacv1.ClusterRole
			mustYAML(t, []byte(doc), &r)
			clusterRoles++
			if r.AggregationRule != nil {
				t.Errorf("ClusterRole %s aggregates other roles: its rules are not all here", r.Name)
			}
			for _, rule := range r.Rules {
				checkClusterRule(t, r.Name, rule)
			}
		case "Role":
			var r rbacv1.Role
			mustYAML(t, []byte(doc), &r)
			roles++
			if r.Namespace != serinNamespace {
				t.Errorf("Role %s is in %q, not serin's namespace %s", r.Name, r.Namespace, serinNamespace)
			}
			for _, rule := range r.Rules {
				if core(rule) && slices.Contains(rule.Resources, "configmaps") &&
					slices.Contains(rule.Verbs, "create") && slices.Contains(rule.Verbs, "update") {
					releaseRole = true
				}
			}
		}
	}
	if clusterRoles == 0 || roles == 0 {
		t.Fatalf("%d ClusterRoles and %d Roles in serin.yaml; the test reads nothing", clusterRoles, roles)
	}
	if !releaseRole {
		t.Errorf("no Role in %s lets serin create and update the release-history ConfigMaps", serinNamespace)
	}
}

// writeVerbs change or delete objects; "*" is all of them.
var writeVerbs = []string{"create", "update", "patch", "delete", "deletecollection", "*"}

func checkClusterRule(t *testing.T, role string, rule rbacv1.PolicyRule) {
	t.Helper()
	if len(rule.NonResourceURLs) > 0 {
		t.Errorf("ClusterRole %s grants non-resource URLs %v", role, rule.NonResourceURLs)
	}
	if !core(rule) {
		return
	}
	for _, res := range rule.Resources {
		base, sub, _ := strings.Cut(res, "/")
		switch {
		case base == "*":
			t.Errorf("ClusterRole %s grants %v on every core resource", role, rule.Verbs)
		case base == "secrets":
			t.Errorf("ClusterRole %s grants %v on secrets", role, rule.Verbs)
		case base == "configmaps":
			if w := written(rule.Verbs); len(w) > 0 {
				t.Errorf("ClusterRole %s grants %v on configmaps in every namespace", role, w)
			}
		case base == "pods" && sub != "":
			t.Errorf("ClusterRole %s grants %v on %s", role, rule.Verbs, res)
		case base == "pods":
			for _, v := range rule.Verbs {
				if v != "list" && v != "watch" {
					t.Errorf("ClusterRole %s grants %q on pods; pod selectors need only list and watch", role, v)
				}
			}
		}
	}
}

// core reports whether rule applies to the core API group.
func core(rule rbacv1.PolicyRule) bool {
	return slices.Contains(rule.APIGroups, "") || slices.Contains(rule.APIGroups, "*")
}

func written(verbs []string) []string {
	var out []string
	for _, v := range verbs {
		if slices.Contains(writeVerbs, v) {
			out = append(out, v)
		}
	}
	return out
}
