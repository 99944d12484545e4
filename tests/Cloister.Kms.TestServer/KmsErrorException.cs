namespace Cloister.Kms.TestServer;

/// <summary>
/// A KMS error answer: JSON 1.1's <c>{"__type": Type, "message": Message}</c> with HTTP status <see cref="Status"/>.
/// The types and their 400 status follow the Errors sections of the AWS KMS API Reference for each action.
/// </summary>
internal sealed class KmsErrorException(string type, string message, int status = 400) : Exception(message)
{
    public string Type { get; } = type;

    public int Status { get; } = status;

    public static KmsErrorException Validation(string message) => new("ValidationException", message);

    public static KmsErrorException NotFound(string message) => new("NotFoundException", message);

    public static KmsErrorException InvalidCiphertext(string message) => new("InvalidCiphertextException", message);
}
