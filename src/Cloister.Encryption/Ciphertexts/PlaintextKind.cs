namespace Cloister.Encryption.Ciphertexts;

/// <summary>What a ciphertext's plaintext was, so that decryption gives back the same JSON value.</summary>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Naming", "CA1720", Justification = "The members name JSON's value kinds, as JsonValueKind does.")]
public enum PlaintextKind : byte
{
    /// <summary>Opaque bytes (a whole body).</summary>
    Bytes = 0,

    /// <summary>A JSON string's UTF-8 value.</summary>
    String = 1,

    /// <summary>A JSON number's text, exactly as it was written.</summary>
    Number = 2,

    /// <summary>A JSON boolean, as <c>true</c> or <c>false</c>.</summary>
    Boolean = 3,
}
