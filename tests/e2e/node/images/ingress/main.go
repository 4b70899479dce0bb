// e2e-ingress: the node tier's stand-in for ingress-nginx (docs/e2e.md, "What is stood in on
// the node"). No ingress controller builds from what the Go module proxy serves (ingress-nginx
// runs nginx with Lua modules), so this program is imported under the references of both images
// the pinned ingress-nginx chart runs, and runs as the chart's own pods with the chart's
// arguments, service accounts, labels and security context:
//
//	/nginx-ingress-controller --controller-class=... --ingress-class=... --validating-webhook=:8443 ...
//	    (the controller image: the chart passes the binary's path as its first argument)
//	/kube-webhook-certgen create --host=a,b --namespace=ns --secret-name=s
//	/kube-webhook-certgen patch --webhook-name=w --namespace=ns --secret-name=s --patch-failure-policy=Fail
//	    (the admission hook Jobs' image)
//
// As the controller it does only what the base and cert-manager rely on:
//   - routes the Ingresses of the IngressClasses whose spec.controller is --controller-class (or
//     annotated kubernetes.io/ingress.class: <--ingress-class>): host, path (Exact; Prefix and
//     ImplementationSpecific as prefixes, longest first), to the ready endpoints of the backend
//     Service's port (by number or name), as nginx does, not through the Service's cluster IP;
//   - serves HTTP on :80 and HTTPS on :443 with the certificate of the Secret an Ingress's tls
//     entry names for the requested host (SNI), else a self-signed "fake" certificate, as
//     ingress-nginx does; no redirect from HTTP to HTTPS;
//   - answers 404 when no rule matches;
//   - writes --publish-status-address into the status of the Ingresses it serves;
//   - answers the chart's validating admission webhook, allowing every Ingress (the real one
//     checks the nginx configuration it would generate);
//   - /healthz on :10254 once its first sync succeeded.
//
// It reads the API server every second with the pod's service account (standard library only).
package main

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

const saDir = "/var/run/secrets/kubernetes.io/serviceaccount"

// ---------------------------------------------------------------- API client

type kube struct {
	base   string
	client *http.Client
}

func newKube() (*kube, error) {
	host, port := os.Getenv("KUBERNETES_SERVICE_HOST"), os.Getenv("KUBERNETES_SERVICE_PORT")
	if host == "" || port == "" {
		return nil, errors.New("not in a pod: KUBERNETES_SERVICE_HOST/PORT are not set")
	}
	ca, err := os.ReadFile(saDir + "/ca.crt")
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(ca)
	return &kube{
		base: "https://" + net.JoinHostPort(host, port),
		client: &http.Client{
			Timeout:   10 * time.Second,
			Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}},
		},
	}, nil
}

// do sends a request with the (rotating) service account token; out receives the JSON body.
func (k *kube) do(method, path, contentType string, body any, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, k.base+path, rd)
	if err != nil {
		return err
	}
	token, err := os.ReadFile(saDir + "/token")
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(string(token)))
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := k.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if resp.StatusCode >= 300 {
		return &apiError{resp.StatusCode, fmt.Sprintf("%s %s: %d %s", method, path, resp.StatusCode, bytes.TrimSpace(data))}
	}
	if out != nil {
		return json.Unmarshal(data, out)
	}
	return nil
}

type apiError struct {
	code int
	msg  string
}

func (e *apiError) Error() string { return e.msg }

func notFound(err error) bool {
	var ae *apiError
	return errors.As(err, &ae) && ae.code == http.StatusNotFound
}

// ---------------------------------------------------------------- API types (the fields used)

type meta struct {
	Name        string            `json:"name"`
	Namespace   string            `json:"namespace,omitempty"`
	Labels      map[string]string `json:"labels,omitempty"`
	Annotations map[string]string `json:"annotations,omitempty"`
}

type list[T any] struct {
	Items []T `json:"items"`
}

type ingressClass struct {
	Metadata meta `json:"metadata"`
	Spec     struct {
		Controller string `json:"controller"`
	} `json:"spec"`
}

type backendPort struct {
	Name   string `json:"name,omitempty"`
	Number int    `json:"number,omitempty"`
}

type ingressBackend struct {
	Service *struct {
		Name string      `json:"name"`
		Port backendPort `json:"port"`
	} `json:"service,omitempty"`
}

type ingress struct {
	Metadata meta `json:"metadata"`
	Spec     struct {
		IngressClassName *string `json:"ingressClassName,omitempty"`
		TLS              []struct {
			Hosts      []string `json:"hosts"`
			SecretName string   `json:"secretName"`
		} `json:"tls,omitempty"`
		Rules []struct {
			Host string `json:"host,omitempty"`
			HTTP *struct {
				Paths []struct {
					Path     string         `json:"path"`
					PathType string         `json:"pathType"`
					Backend  ingressBackend `json:"backend"`
				} `json:"paths"`
			} `json:"http,omitempty"`
		} `json:"rules,omitempty"`
	} `json:"spec"`
	Status struct {
		LoadBalancer struct {
			Ingress []map[string]any `json:"ingress,omitempty"`
		} `json:"loadBalancer"`
	} `json:"status"`
}

type service struct {
	Spec struct {
		Ports []struct {
			Name       string `json:"name"`
			Port       int    `json:"port"`
			TargetPort any    `json:"targetPort"`
		} `json:"ports"`
	} `json:"spec"`
}

type endpointSlice struct {
	Ports []struct {
		Name *string `json:"name"`
		Port *int    `json:"port"`
	} `json:"ports"`
	Endpoints []struct {
		Addresses  []string `json:"addresses"`
		Conditions struct {
			Ready *bool `json:"ready"`
		} `json:"conditions"`
	} `json:"endpoints"`
}

type secret struct {
	Metadata meta              `json:"metadata"`
	Data     map[string][]byte `json:"data"`
}

// ---------------------------------------------------------------- routing table

type route struct {
	host, path, pathType string
	namespace, ingress   string
	targets              []string // host:port of ready endpoints
}

type table struct {
	routes []route                     // longest path first
	certs  map[string]*tls.Certificate // by host
}

func (t *table) match(host, path string) *route {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.ToLower(host)
	for _, exact := range []bool{true, false} {
		for i := range t.routes {
			r := &t.routes[i]
			if (r.host != "" && r.host != host) || (r.host == "") == exact {
				continue
			}
			switch r.pathType {
			case "Exact":
				if path == r.path {
					return r
				}
			default: // Prefix, ImplementationSpecific
				p := strings.TrimSuffix(r.path, "/")
				if path == r.path || path == p || strings.HasPrefix(path, p+"/") || p == "" {
					return r
				}
			}
		}
	}
	return nil
}

type controller struct {
	k             *kube
	controllerCls string
	ingressCls    string
	statusAddress []string
	current       atomic.Pointer[table]
	fake          *tls.Certificate
	synced        atomic.Bool
	rr            atomic.Uint64
	lastErr       string
}

func (c *controller) classes() (map[string]bool, error) {
	var l list[ingressClass]
	if err := c.k.do("GET", "/apis/networking.k8s.io/v1/ingressclasses", "", nil, &l); err != nil {
		return nil, err
	}
	mine := map[string]bool{}
	for _, ic := range l.Items {
		if ic.Spec.Controller == c.controllerCls {
			mine[ic.Metadata.Name] = true
		}
	}
	return mine, nil
}

func (c *controller) serves(ing *ingress, classes map[string]bool) bool {
	if ing.Spec.IngressClassName != nil {
		return classes[*ing.Spec.IngressClassName]
	}
	return ing.Metadata.Annotations["kubernetes.io/ingress.class"] == c.ingressCls
}

// targets: the ready endpoints of a Service port, as host:port.
func (c *controller) targets(ns, svcName string, port backendPort) ([]string, error) {
	var svc service
	if err := c.k.do("GET", fmt.Sprintf("/api/v1/namespaces/%s/services/%s", ns, svcName), "", nil, &svc); err != nil {
		return nil, err
	}
	portName, target := "", any(nil)
	found := false
	for _, p := range svc.Spec.Ports {
		if (port.Number != 0 && p.Port == port.Number) || (port.Name != "" && p.Name == port.Name) {
			portName, target, found = p.Name, p.TargetPort, true
			break
		}
	}
	if !found {
		return nil, fmt.Errorf("service %s/%s has no port %v", ns, svcName, port)
	}
	var slices list[endpointSlice]
	q := url.Values{"labelSelector": {"kubernetes.io/service-name=" + svcName}}
	if err := c.k.do("GET", fmt.Sprintf("/apis/discovery.k8s.io/v1/namespaces/%s/endpointslices?%s", ns, q.Encode()), "", nil, &slices); err != nil {
		return nil, err
	}
	var out []string
	for _, s := range slices.Items {
		epPort := 0
		for _, p := range s.Ports {
			name := ""
			if p.Name != nil {
				name = *p.Name
			}
			if name == portName && p.Port != nil {
				epPort = *p.Port
			}
		}
		if epPort == 0 {
			if n, ok := target.(float64); ok {
				epPort = int(n)
			}
		}
		if epPort == 0 {
			continue
		}
		for _, ep := range s.Endpoints {
			if ep.Conditions.Ready != nil && !*ep.Conditions.Ready {
				continue
			}
			for _, a := range ep.Addresses {
				out = append(out, net.JoinHostPort(a, strconv.Itoa(epPort)))
			}
		}
	}
	sort.Strings(out)
	return out, nil
}

func (c *controller) tlsSecret(ns, name string) (*tls.Certificate, error) {
	var l list[secret]
	q := url.Values{"fieldSelector": {"metadata.name=" + name}}
	if err := c.k.do("GET", fmt.Sprintf("/api/v1/namespaces/%s/secrets?%s", ns, q.Encode()), "", nil, &l); err != nil {
		return nil, err
	}
	if len(l.Items) == 0 {
		return nil, fmt.Errorf("secret %s/%s not found", ns, name)
	}
	cert, err := tls.X509KeyPair(l.Items[0].Data["tls.crt"], l.Items[0].Data["tls.key"])
	if err != nil {
		return nil, fmt.Errorf("secret %s/%s: %w", ns, name, err)
	}
	return &cert, nil
}

func (c *controller) sync() error {
	classes, err := c.classes()
	if err != nil {
		return err
	}
	var ings list[ingress]
	if err := c.k.do("GET", "/apis/networking.k8s.io/v1/ingresses", "", nil, &ings); err != nil {
		return err
	}
	t := &table{certs: map[string]*tls.Certificate{}}
	var problems []string
	for i := range ings.Items {
		ing := &ings.Items[i]
		if !c.serves(ing, classes) {
			continue
		}
		ns := ing.Metadata.Namespace
		for _, entry := range ing.Spec.TLS {
			cert, err := c.tlsSecret(ns, entry.SecretName)
			if err != nil {
				problems = append(problems, err.Error())
				continue
			}
			for _, h := range entry.Hosts {
				t.certs[strings.ToLower(h)] = cert
			}
		}
		for _, rule := range ing.Spec.Rules {
			if rule.HTTP == nil {
				continue
			}
			for _, p := range rule.HTTP.Paths {
				if p.Backend.Service == nil {
					continue
				}
				targets, err := c.targets(ns, p.Backend.Service.Name, p.Backend.Service.Port)
				if err != nil {
					problems = append(problems, err.Error())
				}
				path := p.Path
				if path == "" {
					path = "/"
				}
				t.routes = append(t.routes, route{
					host: strings.ToLower(rule.Host), path: path, pathType: p.PathType,
					namespace: ns, ingress: ing.Metadata.Name, targets: targets,
				})
			}
		}
		c.publish(ing)
	}
	sort.SliceStable(t.routes, func(a, b int) bool { return len(t.routes[a].path) > len(t.routes[b].path) })
	c.current.Store(t)
	if msg := strings.Join(problems, "; "); msg != c.lastErr {
		if msg != "" {
			log.Printf("sync: %s", msg)
		}
		c.lastErr = msg
	}
	return nil
}

// publish writes the status addresses into an Ingress this controller serves.
func (c *controller) publish(ing *ingress) {
	if len(c.statusAddress) == 0 {
		return
	}
	var want []map[string]any
	for _, a := range c.statusAddress {
		if net.ParseIP(a) != nil {
			want = append(want, map[string]any{"ip": a})
		} else {
			want = append(want, map[string]any{"hostname": a})
		}
	}
	have, _ := json.Marshal(ing.Status.LoadBalancer.Ingress)
	wantJSON, _ := json.Marshal(want)
	if bytes.Equal(have, wantJSON) {
		return
	}
	// The chart's ClusterRole grants `update` on ingresses/status (not `patch`): read the
	// Ingress and put it back with the new status, as ingress-nginx does.
	path := fmt.Sprintf("/apis/networking.k8s.io/v1/namespaces/%s/ingresses/%s", ing.Metadata.Namespace, ing.Metadata.Name)
	var obj map[string]any
	if err := c.k.do("GET", path, "", nil, &obj); err != nil {
		log.Printf("status of %s/%s: %v", ing.Metadata.Namespace, ing.Metadata.Name, err)
		return
	}
	obj["status"] = map[string]any{"loadBalancer": map[string]any{"ingress": want}}
	if err := c.k.do("PUT", path+"/status", "application/json", obj, nil); err != nil {
		log.Printf("status of %s/%s: %v", ing.Metadata.Namespace, ing.Metadata.Name, err)
		return
	}
	log.Printf("status of %s/%s: %s", ing.Metadata.Namespace, ing.Metadata.Name, wantJSON)
}

func (c *controller) loop() {
	for {
		if err := c.sync(); err != nil {
			log.Printf("sync failed: %v", err)
		} else if !c.synced.Load() {
			c.synced.Store(true)
			log.Print("first sync done: serving")
		}
		time.Sleep(time.Second)
	}
}

func (c *controller) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	t := c.current.Load()
	var rt *route
	if t != nil {
		rt = t.match(r.Host, r.URL.Path)
	}
	if rt == nil {
		http.Error(w, "default backend - 404", http.StatusNotFound)
		return
	}
	if len(rt.targets) == 0 {
		http.Error(w, "503 Service Temporarily Unavailable", http.StatusServiceUnavailable)
		return
	}
	target := rt.targets[int(c.rr.Add(1))%len(rt.targets)]
	proxy := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(&url.URL{Scheme: "http", Host: target})
			pr.Out.Host = pr.In.Host
			pr.SetXForwarded()
		},
		ErrorHandler: func(w http.ResponseWriter, _ *http.Request, err error) {
			log.Printf("%s%s -> %s: %v", r.Host, r.URL.Path, target, err)
			http.Error(w, "502 Bad Gateway", http.StatusBadGateway)
		},
	}
	proxy.ServeHTTP(w, r)
}

func (c *controller) certificate(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
	if t := c.current.Load(); t != nil {
		if cert, ok := t.certs[strings.ToLower(hello.ServerName)]; ok {
			return cert, nil
		}
	}
	return c.fake, nil
}

// ---------------------------------------------------------------- certificates

func selfSigned(cn string, hosts []string, ca *x509.Certificate, caKey *ecdsa.PrivateKey, isCA bool) (certPEM, keyPEM []byte, cert *x509.Certificate, key *ecdsa.PrivateKey) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		log.Fatal(err)
	}
	serial, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: cn, Organization: []string{"Acme Co"}},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(365 * 24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames:     hosts,
	}
	if isCA {
		tmpl.IsCA, tmpl.BasicConstraintsValid = true, true
		tmpl.KeyUsage |= x509.KeyUsageCertSign
	}
	parent, signer := tmpl, key
	if ca != nil {
		parent, signer = ca, caKey
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, signer)
	if err != nil {
		log.Fatal(err)
	}
	cert, _ = x509.ParseCertificate(der)
	keyDER, _ := x509.MarshalECPrivateKey(key)
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), cert, key
}

// ---------------------------------------------------------------- admission webhook

func admission(w http.ResponseWriter, r *http.Request) {
	var review struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
		Request    *struct {
			UID string `json:"uid"`
		} `json:"request"`
	}
	if err := json.NewDecoder(io.LimitReader(r.Body, 8<<20)).Decode(&review); err != nil || review.Request == nil {
		http.Error(w, "not an AdmissionReview", http.StatusBadRequest)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{
		"apiVersion": review.APIVersion,
		"kind":       review.Kind,
		"response":   map[string]any{"uid": review.Request.UID, "allowed": true},
	})
}

// ---------------------------------------------------------------- modes

func runController(args []string) {
	fs := flag.NewFlagSet("nginx-ingress-controller", flag.ContinueOnError)
	controllerCls := fs.String("controller-class", "k8s.io/ingress-nginx", "")
	ingressCls := fs.String("ingress-class", "nginx", "")
	webhook := fs.String("validating-webhook", "", "")
	webhookCert := fs.String("validating-webhook-certificate", "", "")
	webhookKey := fs.String("validating-webhook-key", "", "")
	statusAddress := fs.String("publish-status-address", "", "")
	// Accepted and not used by the stand-in (the chart passes them).
	for _, name := range []string{"election-id", "configmap", "publish-service", "enable-metrics",
		"tcp-services-configmap", "udp-services-configmap", "watch-namespace",
		"default-backend-service", "enable-annotation-validation", "election-ttl",
		"watch-ingress-without-class", "ingress-class-by-name", "disable-leader-election",
		"enable-topology-aware-routing", "health-check-path", "healthz-host"} {
		fs.String(name, "", "(not used by the stand-in)")
	}
	if err := fs.Parse(args); err != nil {
		log.Fatalf("arguments: %v", err)
	}
	k, err := newKube()
	if err != nil {
		log.Fatal(err)
	}
	certPEM, keyPEM, _, _ := selfSigned("Kubernetes Ingress Controller Fake Certificate", []string{"ingress.local"}, nil, nil, false)
	fake, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		log.Fatal(err)
	}
	c := &controller{k: k, controllerCls: *controllerCls, ingressCls: *ingressCls, fake: &fake}
	for _, a := range strings.Split(*statusAddress, ",") {
		if a = strings.TrimSpace(a); a != "" {
			c.statusAddress = append(c.statusAddress, a)
		}
	}
	log.Printf("stand-in ingress controller: class controller %q, ingress class %q, status %v",
		c.controllerCls, c.ingressCls, c.statusAddress)
	go c.loop()

	errs := make(chan error, 4)
	go func() { errs <- http.ListenAndServe(":80", c) }()
	go func() {
		srv := &http.Server{Addr: ":443", Handler: c, TLSConfig: &tls.Config{GetCertificate: c.certificate}}
		errs <- srv.ListenAndServeTLS("", "")
	}()
	go func() {
		mux := http.NewServeMux()
		mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) {
			if !c.synced.Load() {
				http.Error(w, "not synced yet", http.StatusServiceUnavailable)
				return
			}
			_, _ = io.WriteString(w, "ok")
		})
		errs <- http.ListenAndServe(":10254", mux)
	}()
	if *webhook != "" {
		go func() {
			mux := http.NewServeMux()
			mux.HandleFunc("/networking/v1/ingresses", admission)
			errs <- http.ListenAndServeTLS(*webhook, *webhookCert, *webhookKey, mux)
		}()
	}
	log.Fatal(<-errs)
}

func runCertgen(mode string, args []string) {
	fs := flag.NewFlagSet("kube-webhook-certgen "+mode, flag.ContinueOnError)
	hosts := fs.String("host", "", "")
	namespace := fs.String("namespace", "", "")
	secretName := fs.String("secret-name", "", "")
	webhookName := fs.String("webhook-name", "", "")
	patchMutating := fs.Bool("patch-mutating", true, "")
	patchValidating := fs.Bool("patch-validating", true, "")
	failurePolicy := fs.String("patch-failure-policy", "", "")
	fs.String("cert-name", "cert", "")
	fs.String("key-name", "key", "")
	fs.String("ca-name", "ca", "")
	if err := fs.Parse(args); err != nil {
		log.Fatalf("arguments: %v", err)
	}
	k, err := newKube()
	if err != nil {
		log.Fatal(err)
	}
	secretPath := fmt.Sprintf("/api/v1/namespaces/%s/secrets/%s", *namespace, *secretName)
	switch mode {
	case "create":
		err := k.do("GET", secretPath, "", nil, nil)
		if err == nil {
			log.Printf("secret %s/%s exists: nothing to do", *namespace, *secretName)
			return
		}
		if !notFound(err) {
			log.Fatal(err)
		}
		caPEM, _, caCert, caKey := selfSigned("ingress-nginx-admission-ca", nil, nil, nil, true)
		certPEM, keyPEM, _, _ := selfSigned("ingress-nginx-admission", strings.Split(*hosts, ","), caCert, caKey, false)
		obj := map[string]any{
			"apiVersion": "v1", "kind": "Secret",
			"metadata": map[string]any{"name": *secretName, "namespace": *namespace},
			"data": map[string]string{
				"ca":   base64.StdEncoding.EncodeToString(caPEM),
				"cert": base64.StdEncoding.EncodeToString(certPEM),
				"key":  base64.StdEncoding.EncodeToString(keyPEM),
			},
		}
		if err := k.do("POST", fmt.Sprintf("/api/v1/namespaces/%s/secrets", *namespace), "application/json", obj, nil); err != nil {
			log.Fatal(err)
		}
		log.Printf("created secret %s/%s for %s", *namespace, *secretName, *hosts)
	case "patch":
		var s secret
		if err := k.do("GET", secretPath, "", nil, &s); err != nil {
			log.Fatal(err)
		}
		ca := s.Data["ca"]
		if len(ca) == 0 {
			log.Fatalf("secret %s/%s has no ca", *namespace, *secretName)
		}
		if !*patchValidating {
			return
		}
		if *patchMutating {
			log.Print("patch-mutating: the chart renders no mutating webhook; skipped")
		}
		path := "/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations/" + *webhookName
		var cfg map[string]any
		if err := k.do("GET", path, "", nil, &cfg); err != nil {
			log.Fatal(err)
		}
		hooks, _ := cfg["webhooks"].([]any)
		for _, h := range hooks {
			hook := h.(map[string]any)
			hook["clientConfig"].(map[string]any)["caBundle"] = base64.StdEncoding.EncodeToString(ca)
			if *failurePolicy != "" {
				hook["failurePolicy"] = *failurePolicy
			}
		}
		if err := k.do("PUT", path, "application/json", cfg, nil); err != nil {
			log.Fatal(err)
		}
		log.Printf("patched %s with the CA of %s/%s", *webhookName, *namespace, *secretName)
	}
}

func main() {
	log.SetFlags(log.LstdFlags | log.Lmicroseconds)
	args := os.Args[1:]
	if len(args) > 0 && (args[0] == "create" || args[0] == "patch") {
		runCertgen(args[0], args[1:])
		return
	}
	// The controller image: the chart's first argument is the binary's own path.
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		args = args[1:]
	}
	runController(args)
}
