package v1alpha1

import (
	"encoding/pem"

	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// Validate returns every problem with the Upstream, each with its field path.
func (u *Upstream) Validate() field.ErrorList {
	errs := validateMeta(&u.ObjectMeta)
	s := &u.Spec
	p := field.NewPath("spec")
	switch {
	case s.Static == nil && s.Kube == nil:
		errs = append(errs, field.Required(p, "one of static or kube is needed"))
	case s.Static != nil && s.Kube != nil:
		errs = append(errs, field.Invalid(p, "static and kube", "only one of static or kube may be set"))
	case s.Static != nil:
		errs = append(errs, validateStatic(p.Child("static"), s.Static)...)
	default:
		errs = append(errs, validateKube(p.Child("kube"), s.Kube)...)
	}
	errs = append(errs, validateDuration(p.Child("connectTimeout"), s.ConnectTimeout, true)...)
	for i, hc := range s.HealthChecks {
		errs = append(errs, validateHealthCheck(p.Child("healthChecks").Index(i), &hc)...)
	}
	if od := s.OutlierDetection; od != nil {
		op := p.Child("outlierDetection")
		errs = append(errs, validateDuration(op.Child("interval"), od.Interval, true)...)
		errs = append(errs, validateDuration(op.Child("baseEjectionTime"), od.BaseEjectionTime, true)...)
		if od.MaxEjectionPercent != nil && *od.MaxEjectionPercent > 100 {
			errs = append(errs, field.Invalid(op.Child("maxEjectionPercent"), *od.MaxEjectionPercent, "must be between 0 and 100"))
		}
	}
	if lb := s.LoadBalancer; lb != nil {
		errs = append(errs, validateLoadBalancer(p.Child("loadBalancer"), lb)...)
	}
	if tls := s.SslConfig; tls != nil {
		errs = append(errs, validateSsl(p.Child("sslConfig"), tls)...)
	}
	return errs
}

func validateStatic(p *field.Path, st *StaticUpstream) field.ErrorList {
	var errs field.ErrorList
	if len(st.Hosts) == 0 {
		return append(errs, field.Required(p.Child("hosts"), "at least one host is needed"))
	}
	for i, h := range st.Hosts {
		hp := p.Child("hosts").Index(i)
		if h.Addr == "" {
			errs = append(errs, field.Required(hp.Child("addr"), "an IP address or DNS name is needed"))
		} else if validation.IsValidIP(hp.Child("addr"), h.Addr) != nil && len(validation.IsDNS1123Subdomain(h.Addr)) > 0 {
			errs = append(errs, field.Invalid(hp.Child("addr"), h.Addr, "not an IP address or DNS name"))
		}
		errs = append(errs, validatePort(hp.Child("port"), h.Port)...)
		if h.Weight != nil && *h.Weight == 0 {
			errs = append(errs, field.Invalid(hp.Child("weight"), 0, "must be at least 1"))
		}
		if h.LoadBalancingWeight != nil && *h.LoadBalancingWeight == 0 {
			errs = append(errs, field.Invalid(hp.Child("loadBalancingWeight"), 0, "must be at least 1"))
		}
	}
	return errs
}

func validateKube(p *field.Path, k *KubeUpstream) field.ErrorList {
	var errs field.ErrorList
	if k.ServiceName == "" {
		errs = append(errs, field.Required(p.Child("serviceName"), "the Kubernetes Service to resolve"))
	} else {
		for _, msg := range validation.IsDNS1035Label(k.ServiceName) {
			errs = append(errs, field.Invalid(p.Child("serviceName"), k.ServiceName, msg))
		}
	}
	if k.ServiceNamespace != "" {
		for _, msg := range validation.IsDNS1123Label(k.ServiceNamespace) {
			errs = append(errs, field.Invalid(p.Child("serviceNamespace"), k.ServiceNamespace, msg))
		}
	}
	errs = append(errs, validatePort(p.Child("servicePort"), k.ServicePort)...)
	for key := range k.Selector {
		for _, msg := range validation.IsQualifiedName(key) {
			errs = append(errs, field.Invalid(p.Child("selector").Key(key), key, msg))
		}
	}
	return errs
}

func validateHealthCheck(p *field.Path, hc *HealthCheck) field.ErrorList {
	var errs field.ErrorList
	errs = append(errs, validateDuration(p.Child("timeout"), hc.Timeout, true)...)
	errs = append(errs, validateDuration(p.Child("interval"), hc.Interval, true)...)
	n := 0
	if hc.HttpHealthCheck != nil {
		n++
		if hc.HttpHealthCheck.Path == "" || hc.HttpHealthCheck.Path[0] != '/' {
			errs = append(errs, field.Invalid(p.Child("httpHealthCheck", "path"), hc.HttpHealthCheck.Path, "must start with /"))
		}
	}
	if hc.TcpHealthCheck != nil {
		n++
	}
	if hc.GrpcHealthCheck != nil {
		n++
	}
	if n != 1 {
		errs = append(errs, field.Invalid(p, n, "exactly one of httpHealthCheck, tcpHealthCheck or grpcHealthCheck is needed"))
	}
	if hc.HealthyThreshold != nil && *hc.HealthyThreshold == 0 {
		errs = append(errs, field.Invalid(p.Child("healthyThreshold"), 0, "must be at least 1"))
	}
	if hc.UnhealthyThreshold != nil && *hc.UnhealthyThreshold == 0 {
		errs = append(errs, field.Invalid(p.Child("unhealthyThreshold"), 0, "must be at least 1"))
	}
	return errs
}

func validateLoadBalancer(p *field.Path, lb *LoadBalancer) field.ErrorList {
	var errs field.ErrorList
	n := 0
	for _, set := range []bool{lb.RoundRobin != nil, lb.LeastRequest != nil, lb.Random != nil, lb.RingHash != nil} {
		if set {
			n++
		}
	}
	if n > 1 {
		errs = append(errs, field.Invalid(p, n, "at most one of roundRobin, leastRequest, random or ringHash may be set"))
	}
	if lr := lb.LeastRequest; lr != nil && lr.ChoiceCount != nil && *lr.ChoiceCount < 2 {
		errs = append(errs, field.Invalid(p.Child("leastRequest", "choiceCount"), *lr.ChoiceCount, "must be at least 2"))
	}
	if rh := lb.RingHash; rh != nil && rh.MinimumRingSize != nil && rh.MaximumRingSize != nil && *rh.MinimumRingSize > *rh.MaximumRingSize {
		errs = append(errs, field.Invalid(p.Child("ringHash", "minimumRingSize"), *rh.MinimumRingSize, "must not exceed maximumRingSize"))
	}
	return errs
}

func validateSsl(p *field.Path, s *SslConfig) field.ErrorList {
	var errs field.ErrorList
	if s.RootCa != "" && s.RootCaFile != "" {
		errs = append(errs, field.Invalid(p.Child("rootCaFile"), s.RootCaFile, "only one of rootCa or rootCaFile may be set"))
	}
	if s.RootCa != "" {
		if b, _ := pem.Decode([]byte(s.RootCa)); b == nil || b.Type != "CERTIFICATE" {
			errs = append(errs, field.Invalid(p.Child("rootCa"), "(PEM)", "not a PEM certificate bundle"))
		}
	}
	return errs
}
