package v1alpha1

import (
	"fmt"
	"regexp"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// validateMeta checks the object's name and namespace.
func validateMeta(m *metav1.ObjectMeta) field.ErrorList {
	var errs field.ErrorList
	p := field.NewPath("metadata")
	if m.Name == "" {
		errs = append(errs, field.Required(p.Child("name"), "every object needs a name"))
	} else {
		for _, msg := range validation.IsDNS1123Subdomain(m.Name) {
			errs = append(errs, field.Invalid(p.Child("name"), m.Name, msg))
		}
	}
	if m.Namespace != "" {
		for _, msg := range validation.IsDNS1123Label(m.Namespace) {
			errs = append(errs, field.Invalid(p.Child("namespace"), m.Namespace, msg))
		}
	}
	return errs
}

// validateRef checks that a reference is well formed: a name that can be an
// object's name and, when given, a namespace that can be a namespace.
func validateRef(p *field.Path, r ResourceRef) field.ErrorList {
	var errs field.ErrorList
	if r.Name == "" {
		return append(errs, field.Required(p.Child("name"), "a reference needs a name"))
	}
	for _, msg := range validation.IsDNS1123Subdomain(r.Name) {
		errs = append(errs, field.Invalid(p.Child("name"), r.Name, msg))
	}
	if r.Namespace != "" {
		for _, msg := range validation.IsDNS1123Label(r.Namespace) {
			errs = append(errs, field.Invalid(p.Child("namespace"), r.Namespace, msg))
		}
	}
	return errs
}

// validateDuration checks that d parses and is not negative; positive
// requires it to be above zero when set.
func validateDuration(p *field.Path, d Duration, positive bool) field.ErrorList {
	if d == "" {
		return nil
	}
	v, err := d.Parse()
	if err != nil {
		return field.ErrorList{field.Invalid(p, string(d), "not a duration (use e.g. 500ms, 5s, 1m)")}
	}
	if v < 0 || (positive && v == 0) {
		return field.ErrorList{field.Invalid(p, string(d), "must be greater than zero")}
	}
	return nil
}

func validatePort(p *field.Path, port uint32) field.ErrorList {
	if port < 1 || port > 65535 {
		return field.ErrorList{field.Invalid(p, port, "must be between 1 and 65535")}
	}
	return nil
}

func validateRegex(p *field.Path, re string) field.ErrorList {
	if _, err := regexp.Compile(re); err != nil {
		return field.ErrorList{field.Invalid(p, re, fmt.Sprintf("not an RE2 regular expression: %v", err))}
	}
	return nil
}

func validatePercentage(p *field.Path, v float64) field.ErrorList {
	if v < 0 || v > 100 || v != v {
		return field.ErrorList{field.Invalid(p, v, "must be between 0 and 100")}
	}
	return nil
}

// validateWeights checks weighted destinations: every weight >= 0, a
// positive total, and well-formed upstream references.
func validateWeights(p *field.Path, ds []WeightedDestination) field.ErrorList {
	var errs field.ErrorList
	if len(ds) == 0 {
		return append(errs, field.Required(p, "at least one destination is needed"))
	}
	var total int64
	for i, d := range ds {
		dp := p.Index(i)
		errs = append(errs, validateRef(dp.Child("destination", "upstream"), d.Destination.Upstream)...)
		if d.Weight < 0 {
			errs = append(errs, field.Invalid(dp.Child("weight"), d.Weight, "must be >= 0"))
			continue
		}
		if d.Weight > 1<<32-1 {
			errs = append(errs, field.Invalid(dp.Child("weight"), d.Weight, "must fit in 32 bits"))
			continue
		}
		total += d.Weight
	}
	if total == 0 && len(errs) == 0 {
		errs = append(errs, field.Invalid(p, total, "weights must add up to more than 0"))
	}
	return errs
}
