package memstore

import (
	"testing"

	"github.com/p2sgw/p2sgw/store"
	"github.com/p2sgw/p2sgw/store/storetest"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(*testing.T) store.Store { return New() })
}

func TestZeroValueUsable(t *testing.T) {
	storetest.Run(t, func(*testing.T) store.Store { return new(Store) })
}
