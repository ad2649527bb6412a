package main

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestBootstrapCredentials(t *testing.T) {
	creds := func(o bootstrapOptions) map[string]any {
		t.Helper()
		b, err := bootstrapJSON(o)
		if err != nil {
			t.Fatal(err)
		}
		var v struct {
			Servers []struct {
				Creds []map[string]any `json:"channel_creds"`
			} `json:"xds_servers"`
		}
		if err := json.Unmarshal(b, &v); err != nil {
			t.Fatal(err)
		}
		return v.Servers[0].Creds[0]
	}
	if c := creds(bootstrapOptions{}); c["type"] != "insecure" {
		t.Errorf("default creds %v, want insecure", c)
	}
	c := creds(bootstrapOptions{tlsCA: "/ca.crt", tlsCert: "/tls.crt", tlsKey: "/tls.key"})
	cfg, _ := c["config"].(map[string]any)
	if c["type"] != "tls" || cfg["ca_certificate_file"] != "/ca.crt" || cfg["certificate_file"] != "/tls.crt" || cfg["private_key_file"] != "/tls.key" {
		t.Errorf("mTLS creds %v", c)
	}
	c = creds(bootstrapOptions{tlsCA: "/ca.crt"})
	if cfg, _ := c["config"].(map[string]any); c["type"] != "tls" || cfg["certificate_file"] != nil {
		t.Errorf("TLS-only creds %v", c)
	}
	for _, bad := range []bootstrapOptions{{tlsCert: "/tls.crt"}, {tlsCert: "/tls.crt", tlsKey: "/k"}, {tlsKey: "/k", tlsCA: "/ca"}} {
		if _, err := bootstrapJSON(bad); err == nil || !strings.Contains(err.Error(), "--xds-tls") {
			t.Errorf("%+v: err %v, want one naming the flags", bad, err)
		}
	}
}
