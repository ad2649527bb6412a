package translator

import (
	"net"
	"strings"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	tlsv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/transport_sockets/tls/v3"
	matcherv3 "github.com/envoyproxy/go-control-plane/envoy/type/matcher/v3"

	"github.com/serin-dev/serin/pkg/api/v1alpha1"
)

// maxSNI is Envoy's limit on UpstreamTlsContext.sni (a DNS name is at most 253).
const maxSNI = 255

// tlsIR returns the upstream TLS settings: sslConfig, or Gloo's
// static.useTls shorthand for TLS with no options.
func tlsIR(p *problems, s *v1alpha1.UpstreamSpec) *TLS {
	c := s.SslConfig
	if c == nil {
		if s.Static != nil && s.Static.UseTls != nil && *s.Static.UseTls {
			return &TLS{}
		}
		return nil
	}
	if len(c.Sni) > maxSNI {
		p.reject("spec.sslConfig.sni", "must be at most 255 bytes")
	}
	return &TLS{
		SNI:                c.Sni,
		RootCA:             c.RootCa,
		RootCAFile:         c.RootCaFile,
		SubjectAltNames:    c.VerifySubjectAltName,
		ALPN:               c.AlpnProtocols,
		AllowRenegotiation: c.AllowRenegotiation,
	}
}

const tlsContextType = "envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext"

// buildTransportSocket makes the envoy.transport_sockets.tls socket.
func buildTransportSocket(t *TLS) *corev3.TransportSocket {
	if t == nil {
		return nil
	}
	common := &tlsv3.CommonTlsContext{AlpnProtocols: t.ALPN}
	var vc *tlsv3.CertificateValidationContext
	switch {
	case t.RootCA != "":
		vc = &tlsv3.CertificateValidationContext{TrustedCa: &corev3.DataSource{
			Specifier: &corev3.DataSource_InlineString{InlineString: t.RootCA},
		}}
	case t.RootCAFile != "":
		vc = &tlsv3.CertificateValidationContext{TrustedCa: &corev3.DataSource{
			Specifier: &corev3.DataSource_Filename{Filename: t.RootCAFile},
		}}
	}
	if len(t.SubjectAltNames) > 0 {
		if vc == nil {
			vc = &tlsv3.CertificateValidationContext{}
		}
		vc.MatchTypedSubjectAltNames = make([]*tlsv3.SubjectAltNameMatcher, 0, len(t.SubjectAltNames))
		for _, san := range t.SubjectAltNames {
			vc.MatchTypedSubjectAltNames = append(vc.MatchTypedSubjectAltNames, &tlsv3.SubjectAltNameMatcher{
				SanType: sanType(san),
				Matcher: &matcherv3.StringMatcher{MatchPattern: &matcherv3.StringMatcher_Exact{Exact: san}},
			})
		}
	}
	if vc != nil {
		common.ValidationContextType = &tlsv3.CommonTlsContext_ValidationContext{ValidationContext: vc}
	}
	ctx := &tlsv3.UpstreamTlsContext{
		CommonTlsContext:   common,
		Sni:                t.SNI,
		AllowRenegotiation: t.AllowRenegotiation,
	}
	return &corev3.TransportSocket{
		Name:       "envoy.transport_sockets.tls",
		ConfigType: &corev3.TransportSocket_TypedConfig{TypedConfig: toAny(tlsContextType, ctx)},
	}
}

// sanType guesses the SAN kind from its shape: an IP, a URI (spiffe://...),
// or else a DNS name.
func sanType(san string) tlsv3.SubjectAltNameMatcher_SanType {
	switch {
	case net.ParseIP(san) != nil:
		return tlsv3.SubjectAltNameMatcher_IP_ADDRESS
	case strings.Contains(san, "://"):
		return tlsv3.SubjectAltNameMatcher_URI
	case strings.Contains(san, "@"):
		return tlsv3.SubjectAltNameMatcher_EMAIL
	default:
		return tlsv3.SubjectAltNameMatcher_DNS
	}
}
