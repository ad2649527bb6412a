package main

import (
	"fmt"

	"github.com/spf13/cobra"
	"k8s.io/client-go/kubernetes"

	"github.com/serin-dev/serin/pkg/certgen"
	"github.com/serin-dev/serin/pkg/source/kube"
)

func init() { register(newCertsCmd) }

// newCertsCmd is `serin certs`: client certificates for xDS mTLS in
// Kubernetes, issued from the CA serin keeps in a Secret.
func newCertsCmd(*app) *cobra.Command {
	var (
		kubeconfig, caNS, caSecret string
		ns, secret                 string
		uris, hosts                []string
	)
	cmd := &cobra.Command{
		Use:   "certs",
		Short: "Issue xDS client certificates from the CA serin keeps in Kubernetes",
	}
	issue := &cobra.Command{
		Use:   "issue",
		Short: "Create a kubernetes.io/tls Secret with a client certificate from serin's CA (kept if it exists)",
		Long: `issue creates, in --namespace, a kubernetes.io/tls Secret (tls.crt, tls.key,
ca.crt) holding a client certificate signed by serin's CA (the Secret
--ca-secret in --ca-namespace, which serve --kube creates). Mount it into an
Envoy or a proxyless gRPC client of that namespace; --uri names the
identity --fleet-identity rules match, e.g.
  serin certs issue --namespace edge --secret envoy-xds-tls \
    --uri spiffe://cluster.local/ns/edge/sa/envoy
An existing Secret is kept as it is (the identities it holds are printed:
delete it to issue another). The CA must exist: serve --kube makes it.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if ns == "" || secret == "" || caNS == "" {
				return fmt.Errorf("--namespace, --secret and --ca-namespace are required")
			}
			if len(uris) == 0 && len(hosts) == 0 {
				return fmt.Errorf("name the client with --uri (a SPIFFE id) or --dns")
			}
			cfg, err := kube.RESTConfig(kubeconfig)
			if err != nil {
				return err
			}
			kc, err := kubernetes.NewForConfig(cfg)
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			ca, err := certgen.GetCA(ctx, kc, caNS, caSecret)
			if err != nil {
				return err
			}
			name := secret
			if len(uris) > 0 {
				name = uris[0]
			}
			data, err := certgen.EnsureLeaf(ctx, kc, ns, secret, ca, certgen.Leaf{CommonName: name, URIs: uris, Hosts: hosts, Client: true})
			if err != nil {
				return err
			}
			ids, err := certgen.Identities(data[certgen.KeyCert])
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "secret %s/%s: client certificate from CA %s/%s, identities %v\n", ns, secret, caNS, caSecret, ids)
			return nil
		},
	}
	f := issue.Flags()
	f.StringVar(&kubeconfig, "kubeconfig", "", "kubeconfig file (default: in-cluster configuration, else $KUBECONFIG)")
	f.StringVar(&caNS, "ca-namespace", "serin-system", "namespace of serin's CA Secret")
	f.StringVar(&caSecret, "ca-secret", "serin-ca", "serin's CA Secret")
	f.StringVar(&ns, "namespace", "", "namespace of the client's Secret")
	f.StringVar(&secret, "secret", "", "name of the client's Secret")
	f.StringArrayVar(&uris, "uri", nil, "URI SAN (SPIFFE id) of the client; repeatable")
	f.StringArrayVar(&hosts, "dns", nil, "DNS SAN of the client; repeatable")
	cmd.AddCommand(issue)
	return cmd
}
