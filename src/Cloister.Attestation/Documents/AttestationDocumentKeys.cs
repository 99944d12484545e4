namespace Cloister.Attestation.Documents;

/// <summary>The payload's keys in the order the NSM writes them (reference/eif-nsm-spec.md §6.2).</summary>
internal static class AttestationDocumentKeys
{
    public const string ModuleId = "module_id";
    public const string Digest = "digest";
    public const string Timestamp = "timestamp";
    public const string Pcrs = "pcrs";
    public const string Certificate = "certificate";
    public const string CaBundle = "cabundle";
    public const string PublicKey = "public_key";
    public const string UserData = "user_data";
    public const string Nonce = "nonce";

    /// <summary>Largest user_data, nonce or public_key the NSM emits (1024 bytes each, seen on real hardware).</summary>
    public const int MaxOptionalFieldLength = 1024;
}
