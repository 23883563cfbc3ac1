package main

import (
	"context"
	"flag"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// runPublishRegistry creates or updates the local-registry-hosting
// ConfigMap in kube-public (KEP-1755), through which tools such as skiff
// find the registry that the cluster pulls from.
func runPublishRegistry(args []string) error {
	fs := flag.NewFlagSet("publish-registry", flag.ContinueOnError)
	kubeconfig := fs.String("kubeconfig", "", "admin kubeconfig")
	host := fs.String("host", "", "registry host:port that both pushes from this machine and the cluster's pulls use")
	timeout := fs.Duration("timeout", time.Minute, "how long to keep trying, e.g. while kube-public does not exist yet")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *kubeconfig == "" || *host == "" {
		return fmt.Errorf("need -kubeconfig and -host")
	}
	client, err := newClient(*kubeconfig)
	if err != nil {
		return err
	}
	cm := &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: "local-registry-hosting", Namespace: metav1.NamespacePublic},
		Data:       map[string]string{"localRegistryHosting.v1": fmt.Sprintf("host: %q\n", *host)},
	}
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	for {
		err := upsertConfigMap(ctx, client, cm)
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("publishing ConfigMap %s/%s: %w", cm.Namespace, cm.Name, err)
		case <-time.After(pollInterval):
		}
	}
}

func upsertConfigMap(ctx context.Context, client kubernetes.Interface, cm *corev1.ConfigMap) error {
	configMaps := client.CoreV1().ConfigMaps(cm.Namespace)
	_, err := configMaps.Create(ctx, cm, metav1.CreateOptions{})
	if !apierrors.IsAlreadyExists(err) {
		return err
	}
	current, err := configMaps.Get(ctx, cm.Name, metav1.GetOptions{})
	if err != nil {
		return err
	}
	current.Data = cm.Data
	_, err = configMaps.Update(ctx, current, metav1.UpdateOptions{})
	return err
}
