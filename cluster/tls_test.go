package cluster_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/mproc-go/mproc"
	"github.com/mproc-go/mproc/cluster"
)

// selfSigned returns a server certificate for 127.0.0.1 and the path of
// its PEM, the authority nodes are told to trust.
func selfSigned(t *testing.T) (tls.Certificate, string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "mproc test server"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IsCA:                  true,
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, path
}

func TestTLSServerAndNodes(t *testing.T) {
	cert, ca := selfSigned(t)
	c := newCluster(t, cluster.Listen("127.0.0.1:0"),
		cluster.TLS(&tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}),
		cluster.CAFile(ca), cluster.LocalNodes(1), cluster.NodeWorkers(1))
	out, err := mproc.Map(context.Background(), c.Pool, double, []int{1, 2, 3})
	if err != nil || out[2] != 6 {
		t.Fatalf("Map over TLS: %v, %v", out, err)
	}
	// The server takes nothing but TLS.
	if nc, err := nats.Connect(c.URL(), nats.Timeout(5*time.Second)); err == nil {
		nc.Close()
		t.Fatal("a client without TLS connected to a TLS server")
	}
}
