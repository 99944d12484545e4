using System.Formats.Cbor;

namespace Cloister.Attestation.Nsm;

/// <summary>
/// A message of the NSM protocol: a request (<see cref="NsmRequest"/>) or a response (<see cref="NsmResponse"/>).
/// <see cref="NsmCodec"/> turns either into the CBOR the NSM device speaks and back.
/// </summary>
/// <remarks>The set of messages is closed: it is the NSM's API (reference/eif-nsm-spec.md §5.2).</remarks>
public abstract class NsmMessage
{
    private protected NsmMessage()
    {
    }

    /// <summary>Writes the message as serde_cbor writes the Rust enum variant it stands for.</summary>
    internal abstract void Write(CborWriter writer);
}
