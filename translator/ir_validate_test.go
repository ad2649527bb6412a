package translator

import (
	"strings"
	"testing"
	"time"
)

// Broken IRs give every problem, each with its path.
func TestIRValidate(t *testing.T) {
	const (
		fp = "fleets[default]"
		vp = fp + ".virtualHosts[app_ns]"
		cp = fp + ".clusters[a_ns]"
	)
	for _, tc := range []struct {
		name   string
		mutate func(ir *IR, f *Fleet, vh *VirtualHost)
		want   []string
	}{
		{"weighted route without clusters", func(ir *IR, f *Fleet, vh *VirtualHost) { vh.Routes[0].Clusters = nil },
			[]string{vp + ".routes[0]: weighted route with no clusters"}},
		{"zero total weight", func(ir *IR, f *Fleet, vh *VirtualHost) { vh.Routes[0].Clusters[0].Weight = 0 },
			[]string{vp + ".routes[0]: weighted route with a total weight of 0"}},
		{"two actions", func(ir *IR, f *Fleet, vh *VirtualHost) { vh.Routes[1].Clusters = []WeightedCluster{{"a_ns", 1}} },
			[]string{vp + ".routes[1]: both a direct response and clusters"}},
		{"no action", func(ir *IR, f *Fleet, vh *VirtualHost) { vh.Routes[1].Direct = nil },
			[]string{vp + ".routes[1]: no action: neither a direct response nor clusters"}},
		{"direct response with options", func(ir *IR, f *Fleet, vh *VirtualHost) {
			vh.Routes[1].Timeout, vh.Routes[1].Mirrors = ptr(time.Second), []Mirror{{Cluster: "a_ns"}}
			vh.Routes[1].Direct.Status = 600
		}, []string{
			vp + ".routes[1].direct: status 600 is not between 200 and 599",
			vp + ".routes[1]: direct response with forwarding options (timeout, mirrors)",
		}},
		{"several clusters, not weighted", func(ir *IR, f *Fleet, vh *VirtualHost) {
			vh.Routes[2].Clusters = append(vh.Routes[2].Clusters, WeightedCluster{"b_ns", 1})
		}, []string{vp + ".routes[2]: 2 clusters but not weighted: all but the first would be ignored"}},
		{"clusters the fleet lacks", func(ir *IR, f *Fleet, vh *VirtualHost) {
			vh.Routes[2].Clusters[0].Name = "z_ns"
			vh.Routes[0].Mirrors[0].Cluster = "m_ns"
		}, []string{
			vp + `.routes[0].mirrors[0]: cluster "m_ns" is not one of the fleet's clusters`,
			vp + `.routes[2].clusters[0]: cluster "z_ns" is not one of the fleet's clusters`,
		}},
		{"mirror share", func(ir *IR, f *Fleet, vh *VirtualHost) { vh.Routes[0].Mirrors[0].PerMillion = 1000001 },
			[]string{vp + ".routes[0].mirrors[0]: perMillion 1000001 is more than 1000000"}},
		{"matches", func(ir *IR, f *Fleet, vh *VirtualHost) {
			vh.Routes[0].Matches[0].PathKind = PathKind(7)
			vh.Routes[0].Matches[0].Methods = []string{"get"}
			vh.Routes[1].Matches[0].Path = "/(unclosed"
			vh.Routes[2].Matches = nil
		}, []string{
			vp + ".routes[0].matches[0]: unknown pathKind PathKind(7)",
			vp + `.routes[0].matches[0].methods[0]: "get" is not an upper-case HTTP method`,
			vp + ".routes[1].matches[0]: \"/(unclosed\" is not an RE2 regular expression: error parsing regexp: missing closing ): `/(unclosed`",
			vp + ".routes[2]: no matches: the route would not be served",
		}},
		{"hash policy", func(ir *IR, f *Fleet, vh *VirtualHost) { vh.Routes[0].HashPolicies[0].Cookie = "c" },
			[]string{vp + ".routes[0].hashPolicies[0]: exactly one of header, cookie and sourceIP must be set, not 2"}},
		{"cookie options", func(ir *IR, f *Fleet, vh *VirtualHost) {
			vh.Routes[0].HashPolicies[0].CookiePath = "/"
			vh.Routes[0].HashPolicies = append(vh.Routes[0].HashPolicies, HashPolicy{Cookie: "u", CookieTTL: ptr(-time.Second)})
		}, []string{
			vp + ".routes[0].hashPolicies[0]: cookieTTL or cookiePath without a cookie",
			vp + ".routes[0].hashPolicies[3].cookieTTL: negative",
		}},
		{"use hash policy", func(ir *IR, f *Fleet, vh *VirtualHost) {
			vh.Routes[0].UseHashPolicy = true
			vh.Routes[0].HashPolicies = nil
			vh.Routes[2].UseHashPolicy = true
		}, []string{
			vp + ".routes[0]: useHashPolicy with no hash policy: Envoy would pick at random",
			vp + ".routes[2]: useHashPolicy on a route that is not weighted",
		}},
		{"fleets unsorted, no default", func(ir *IR, f *Fleet, vh *VirtualHost) {
			ir.Fleets = []*Fleet{{Name: "zeta"}, {Name: "alpha"}, nil}
		}, []string{
			`fleets[alpha]: not sorted by name (comes after "zeta")`,
			"fleets[2]: nil",
			`fleets: no "default" fleet`,
		}},
		{"clusters duplicate and unsorted", func(ir *IR, f *Fleet, vh *VirtualHost) {
			f.Clusters = []*Cluster{f.Clusters[0], f.Clusters[2], f.Clusters[2], f.Clusters[1]}
		}, []string{
			fp + ".clusters[c_ns]: name appears more than once",
			fp + `.clusters[b_ns]: not sorted by name (comes after "c_ns")`,
		}},
		{"listener's virtual hosts", func(ir *IR, f *Fleet, vh *VirtualHost) {
			cp := *vh
			f.Listeners[0].VirtualHosts = []*VirtualHost{&cp, {Name: "other_ns"}}
		}, []string{
			fp + ".listeners[gw_ns].virtualHosts[app_ns]: not the fleet's virtual host of that name but a copy (it must point into the fleet's virtualHosts)",
			fp + ".listeners[gw_ns].virtualHosts[other_ns]: not one of the fleet's virtual hosts",
		}},
		{"listener socket", func(ir *IR, f *Fleet, vh *VirtualHost) {
			f.Listeners[0].Address, f.Listeners[0].Port = "localhost", 0
		}, []string{
			fp + `.listeners[gw_ns]: address "localhost" is not an IP address`,
			fp + ".listeners[gw_ns]: port 0 is not between 1 and 65535",
		}},
		{"domains", func(ir *IR, f *Fleet, vh *VirtualHost) {
			other := &VirtualHost{Name: "b_ns", Domains: []string{"APP", "x", "X"}, Origins: vh.Origins}
			f.VirtualHosts = append(f.VirtualHosts, other)
			vh.Domains = append(vh.Domains, "a*b")
		}, []string{
			vp + `.domains[2]: "a*b" is not a valid domain`,
			fp + `.virtualHosts[b_ns].domains[2]: "X" appears more than once (domains ignore case)`,
			fp + `.virtualHosts[b_ns].domains[0]: "APP" is also a domain of ` + vp + " (domains ignore case)",
		}},
		{"API listeners", func(ir *IR, f *Fleet, vh *VirtualHost) {
			vh.Domains = append(vh.Domains, "gw_ns")
			vh.APIListeners = []string{"app", "*.app.example.com", "nope", "app", "gw_ns"}
			vh.Origins = nil
		}, []string{
			vp + `.apiListeners[1]: "*.app.example.com" has a wildcard`,
			vp + `.apiListeners[2]: "nope" is not one of the virtual host's domains`,
			vp + `.apiListeners[3]: "app" appears more than once`,
			vp + ": no origins",
			fp + ".listeners[gw_ns]: an API listener of " + vp + " has the same name",
		}},
		{"localities", func(ir *IR, f *Fleet, vh *VirtualHost) {
			ls := f.Clusters[0].Localities
			ls[0], ls[1] = ls[1], ls[0]
			ls[0].Weight = 4
			ls[1].Endpoints[0].Address, ls[1].Endpoints[0].Port = "db.internal", 70000
			f.Clusters[1].Localities[0].Endpoints[0].Weight = 0
			f.Clusters[1].Localities[0].Weight = 0
		}, []string{
			cp + ".localities[0]: weight 4 is not the sum of its endpoints' weights (5)",
			cp + ".localities[1]: not sorted by region and zone",
			cp + `.localities[1].endpoints[0]: address "db.internal" is not an IP address`,
			cp + ".localities[1].endpoints[0]: port 70000 is not between 1 and 65535",
			fp + ".clusters[b_ns].localities[0].endpoints[0]: weight 0 (must be at least 1)",
		}},
		{"cluster options", func(ir *IR, f *Fleet, vh *VirtualHost) {
			a := f.Clusters[0]
			a.HealthChecks[0].Kind = HealthCheckKind(5)
			a.HealthChecks[1].Interval = 0
			a.LB.ChoiceCount = ptr(uint32(2))
			a.LB.MinimumRingSize = ptr(uint64(1 << 30))
			a.TLS.RootCA = "-----BEGIN CERTIFICATE-----"
			a.Outlier.MaxEjectionPercent = ptr(uint32(101))
			f.Clusters[1].LB.ChoiceCount = ptr(uint32(1))
		}, []string{
			cp + ".healthChecks[0]: unknown kind HealthCheckKind(5)",
			cp + ".healthChecks[1]: timeout and interval must be positive",
			cp + ".outlier.maxEjectionPercent: 101 is more than 100",
			cp + ".lb: choiceCount with policy ringHash",
			cp + ".lb: ring size 1073741824 is more than 8388608",
			cp + ".lb: minimumRingSize is more than maximumRingSize",
			cp + ".tls: both rootCA and rootCAFile",
			fp + ".clusters[b_ns].lb: choiceCount 1 is less than 2",
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ir := sampleIR()
			f := ir.Fleets[0]
			tc.mutate(ir, f, f.VirtualHosts[0])
			err := ir.Validate()
			if err == nil {
				t.Fatal("no error")
			}
			got := strings.Split(err.Error(), "\n")
			if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("got:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
		})
	}
}

// The per-type methods check a part with paths relative to it.
func TestIRValidateParts(t *testing.T) {
	ir := sampleIR()
	f := ir.Fleets[0]
	f.Clusters[0].Localities[0].Weight = 2
	if err := f.Clusters[0].Validate(); err == nil || err.Error() != "localities[0]: weight 2 is not the sum of its endpoints' weights (1)" {
		t.Errorf("Cluster.Validate: %v", err)
	}
	vh := f.VirtualHosts[0]
	vh.Routes[2].Clusters[0].Name = "z_ns" // only the fleet knows its clusters
	vh.Routes[0].Mirrors[0].PerMillion = 2000000
	if err := vh.Validate(); err == nil || err.Error() != "routes[0].mirrors[0]: perMillion 2000000 is more than 1000000" {
		t.Errorf("VirtualHost.Validate: %v", err)
	}
	if err := f.Validate(); err == nil || !strings.HasPrefix(err.Error(), "clusters[a_ns].localities[0]: ") {
		t.Errorf("Fleet.Validate: %v", err)
	}
	if err := (*IR)(nil).Validate(); err == nil {
		t.Error("nil IR is valid")
	}
}
