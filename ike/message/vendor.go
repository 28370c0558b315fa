package message

// The Vendor ID payload (RFC 7296 §3.12, Figure 18):
//
//	                     1                   2                   3
//	 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	| Next Payload  |C|  RESERVED   |         Payload Length        |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	~                        Vendor ID (VID)                        ~
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// Windows sends four of them in IKE_SA_INIT ("MS NT5 ISAKMPOAKLEY", …).

// VendorID is a Vendor ID payload.
type VendorID struct {
	Data []byte
}

func (*VendorID) Type() PayloadType { return PayloadVendorID }

func (p *VendorID) AppendBody(b []byte) ([]byte, error) { return append(b, p.Data...), nil }
