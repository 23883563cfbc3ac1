package main

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"flag"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"

	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// certValidity is how long the cluster's certificates last. `down` throws
// them away, so a cluster only outlives them when it is left up for years.
const certValidity = 5 * 365 * 24 * time.Hour

// pkiOptions say what the certificates are for.
type pkiOptions struct {
	dir             string
	nodeIP          net.IP
	nodeName        string
	serviceIP       net.IP
	server          string
	contextName     string
	adminKubeconfig string
}

// runPKI writes the cluster's CAs, serving and client certificates, the
// service-account key pair and the components' kubeconfigs into a new
// directory. An existing directory is kept as it is, so a restart after a
// crash keeps the credentials that etcd's objects refer to.
func runPKI(args []string) error {
	fs := flag.NewFlagSet("pki", flag.ContinueOnError)
	var o pkiOptions
	var nodeIP, serviceIP string
	fs.StringVar(&o.dir, "dir", "", "directory to create for the certificates, keys and component kubeconfigs")
	fs.StringVar(&nodeIP, "node-ip", "", "node address: the kubelet's serving address and an apiserver certificate SAN")
	fs.StringVar(&o.nodeName, "node-name", "", "node name: the kubelet's client identity is system:node:NAME")
	fs.StringVar(&serviceIP, "service-ip", "", "first address of the service CIDR, the kubernetes Service's ClusterIP")
	fs.StringVar(&o.server, "server", "", "apiserver URL the kubeconfigs point at, e.g. https://127.0.0.1:6443")
	fs.StringVar(&o.contextName, "context", "", "name of the cluster, user and context in the admin kubeconfig")
	fs.StringVar(&o.adminKubeconfig, "admin-kubeconfig", "", "where to write the cluster-admin kubeconfig")
	if err := fs.Parse(args); err != nil {
		return err
	}
	o.nodeIP, o.serviceIP = net.ParseIP(nodeIP), net.ParseIP(serviceIP)
	if o.dir == "" || o.nodeIP == nil || o.nodeName == "" || o.serviceIP == nil || o.server == "" || o.contextName == "" || o.adminKubeconfig == "" {
		return fmt.Errorf("need -dir, -node-ip, -node-name, -service-ip, -server, -context and -admin-kubeconfig")
	}
	if _, err := os.Stat(o.dir); err == nil {
		return nil
	}
	// Write everything into a temporary directory first, so that a crash
	// half-way leaves no directory that looks complete.
	tmp := o.dir + ".tmp"
	if err := os.RemoveAll(tmp); err != nil {
		return err
	}
	if err := os.MkdirAll(tmp, 0o700); err != nil {
		return err
	}
	if err := writePKI(tmp, o); err != nil {
		return err
	}
	if err := os.Rename(tmp, o.dir); err != nil {
		return err
	}
	admin := filepath.Join(o.dir, "admin.kubeconfig")
	data, err := os.ReadFile(admin)
	if err != nil {
		return err
	}
	return writeFileAtomic(o.adminKubeconfig, data, 0o600)
}

// writePKI creates every file of the PKI in dir.
func writePKI(dir string, o pkiOptions) error {
	ca, err := newCA(dir, "ca", "skiff-localkube-ca")
	if err != nil {
		return err
	}
	frontProxyCA, err := newCA(dir, "front-proxy-ca", "skiff-localkube-front-proxy-ca")
	if err != nil {
		return err
	}
	leaves := []struct {
		name     string
		issuer   *authority
		template x509.Certificate
	}{
		{"apiserver", ca, x509.Certificate{
			Subject:     pkix.Name{CommonName: "kube-apiserver"},
			ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
			IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1), o.nodeIP, o.serviceIP},
			DNSNames:    []string{"localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc", "kubernetes.default.svc.cluster.local"},
		}},
		{"kubelet-serving", ca, x509.Certificate{
			Subject:     pkix.Name{CommonName: "system:node:" + o.nodeName, Organization: []string{"system:nodes"}},
			ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
			IPAddresses: []net.IP{o.nodeIP},
			DNSNames:    []string{o.nodeName},
		}},
		{"controller-manager-serving", ca, servingTemplate("kube-controller-manager")},
		{"scheduler-serving", ca, servingTemplate("kube-scheduler")},
		{"apiserver-kubelet-client", ca, clientTemplate("kube-apiserver-kubelet-client", "system:masters")},
		{"front-proxy-client", frontProxyCA, clientTemplate("front-proxy-client")},
		{"admin", ca, clientTemplate("skiff-admin", "system:masters")},
		{"controller-manager", ca, clientTemplate("system:kube-controller-manager")},
		{"scheduler", ca, clientTemplate("system:kube-scheduler")},
		{"kubelet", ca, clientTemplate("system:node:"+o.nodeName, "system:nodes")},
	}
	for _, l := range leaves {
		if err := l.issuer.issue(dir, l.name, l.template); err != nil {
			return err
		}
	}
	if err := writeServiceAccountKeys(dir); err != nil {
		return err
	}
	for _, user := range []string{"admin", "controller-manager", "scheduler", "kubelet"} {
		name := o.contextName
		if user != "admin" {
			name = "skiff-localkube-" + user
		}
		if err := writeKubeconfig(dir, user, name, o.server); err != nil {
			return err
		}
	}
	return nil
}

// authority is a CA that signs the cluster's leaf certificates.
type authority struct {
	cert *x509.Certificate
	key  crypto.Signer
}

// servingTemplate is for a component that serves on 127.0.0.1 only.
func servingTemplate(commonName string) x509.Certificate {
	return x509.Certificate{
		Subject:     pkix.Name{CommonName: commonName},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		DNSNames:    []string{"localhost"},
	}
}

func clientTemplate(commonName string, organizations ...string) x509.Certificate {
	return x509.Certificate{
		Subject:     pkix.Name{CommonName: commonName, Organization: organizations},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
}

// newCA creates a self-signed CA and writes NAME.crt and NAME.key.
func newCA(dir, name, commonName string) (*authority, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	serial, err := newSerial()
	if err != nil {
		return nil, err
	}
	now := time.Now()
	template := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: commonName},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(certValidity),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, template, template, key.Public(), key)
	if err != nil {
		return nil, fmt.Errorf("creating CA %s: %w", name, err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	if err := writeCertAndKey(dir, name, der, key); err != nil {
		return nil, err
	}
	return &authority{cert: cert, key: key}, nil
}

// issue signs a new key for template and writes NAME.crt and NAME.key.
func (a *authority) issue(dir, name string, template x509.Certificate) error {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	serial, err := newSerial()
	if err != nil {
		return err
	}
	now := time.Now()
	template.SerialNumber = serial
	template.NotBefore = now.Add(-time.Hour)
	template.NotAfter = now.Add(certValidity)
	template.KeyUsage = x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment
	der, err := x509.CreateCertificate(rand.Reader, &template, a.cert, key.Public(), a.key)
	if err != nil {
		return fmt.Errorf("signing certificate %s: %w", name, err)
	}
	return writeCertAndKey(dir, name, der, key)
}

func newSerial() (*big.Int, error) {
	return rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
}

func writeCertAndKey(dir, name string, der []byte, key *ecdsa.PrivateKey) error {
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, name+".crt"), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, name+".key"), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600)
}

// writeServiceAccountKeys writes sa.key, with which the apiserver signs
// service-account tokens, and sa.pub, with which it verifies them.
func writeServiceAccountKeys(dir string) error {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return err
	}
	pubDER, err := x509.MarshalPKIXPublicKey(key.Public())
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "sa.key"), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "sa.pub"), pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER}), 0o644)
}

// writeKubeconfig writes USER.kubeconfig with the user's client certificate
// embedded, so the file works wherever it is copied.
func writeKubeconfig(dir, user, name, server string) error {
	read := func(file string) ([]byte, error) { return os.ReadFile(filepath.Join(dir, file)) }
	caData, err := read("ca.crt")
	if err != nil {
		return err
	}
	certData, err := read(user + ".crt")
	if err != nil {
		return err
	}
	keyData, err := read(user + ".key")
	if err != nil {
		return err
	}
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters[name] = &clientcmdapi.Cluster{Server: server, CertificateAuthorityData: caData}
	cfg.AuthInfos[name] = &clientcmdapi.AuthInfo{ClientCertificateData: certData, ClientKeyData: keyData}
	cfg.Contexts[name] = &clientcmdapi.Context{Cluster: name, AuthInfo: name}
	cfg.CurrentContext = name
	return clientcmd.WriteToFile(*cfg, filepath.Join(dir, user+".kubeconfig"))
}

// writeFileAtomic replaces path with data through a rename, so a reader
// never sees a half-written file.
func writeFileAtomic(path string, data []byte, perm os.FileMode) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, perm); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
