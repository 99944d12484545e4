using System.Buffers;
using System.Text;

namespace Cloister.Build.Cpio;

/// <summary>
/// Writes an uncompressed newc cpio archive with linuxkit's exact conventions (the ramdisks nitro-cli builds):
/// inodes from 721, one per entry including the trailer; device 3:1; link count 2 for directories, 1 otherwise;
/// check 0; name and data each zero-padded to a multiple of four on the stream offset; after the trailer the whole
/// archive is zero-padded to a multiple of 512. Disposing writes the trailer if <see cref="Finish"/> was not called.
/// </summary>
public sealed class CpioWriter : IDisposable
{
    /// <summary>linuxkit's <c>defaultModTime</c> (2017-04-18T16:30:00Z), the mtime of every file it creates.</summary>
    public const uint LinuxKitModTime = 1492533000;

    private const uint FirstInode = 721;
    private const int BlockSize = 512;
    private const uint Device = 3;
    private const uint DeviceMinor = 1;

    private readonly Stream _output;
    private readonly bool _leaveOpen;
    private uint _nextInode = FirstInode;
    private long _offset;
    private bool _finished;

    /// <summary>Creates a writer.</summary>
    /// <param name="output">The stream written to, from its current position.</param>
    /// <param name="leaveOpen">True to leave <paramref name="output"/> open when the writer is disposed.</param>
    /// <exception cref="ArgumentNullException"><paramref name="output"/> is null.</exception>
    public CpioWriter(Stream output, bool leaveOpen = false)
    {
        ArgumentNullException.ThrowIfNull(output);
        _output = output;
        _leaveOpen = leaveOpen;
    }

    /// <summary>Writes an entry.</summary>
    /// <param name="entry">The entry; for a regular file <see cref="CpioEntry.Size"/> bytes are read from <paramref name="data"/>.</param>
    /// <param name="data">A regular file's content; ignored for other types.</param>
    /// <exception cref="ArgumentNullException"><paramref name="entry"/> is null, or <paramref name="data"/> is null for a non-empty regular file.</exception>
    /// <exception cref="ArgumentException">The name is empty or has a NUL, a symlink has no target, or a size does not fit the 32-bit field.</exception>
    /// <exception cref="InvalidOperationException">The archive is already finished.</exception>
    /// <exception cref="EndOfStreamException"><paramref name="data"/> ended before <see cref="CpioEntry.Size"/> bytes.</exception>
    public void WriteEntry(CpioEntry entry, Stream? data = null)
    {
        ArgumentNullException.ThrowIfNull(entry);
        ObjectDisposedException.ThrowIf(_finished, this);
        switch (entry.Type)
        {
            case CpioEntryType.RegularFile:
                if (entry.Size > 0)
                {
                    ArgumentNullException.ThrowIfNull(data);
                }

                WriteHeaderAndName(entry, entry.Size);
                CopyExactly(data, entry.Size, entry.Name);
                break;
            case CpioEntryType.SymbolicLink:
                var target = Encoding.UTF8.GetBytes(entry.LinkTarget ?? throw new ArgumentException($"symlink {entry.Name} has no LinkTarget", nameof(entry)));
                WriteHeaderAndName(entry, target.Length);
                Write(target);
                break;
            default:
                WriteHeaderAndName(entry, 0);
                break;
        }

        Pad(NewcHeader.PaddingTo4(_offset));
    }

    /// <summary>Writes a directory entry owned by root.</summary>
    /// <param name="name">The path.</param>
    /// <param name="permissions">The permission bits, e.g. <c>0755</c> as 0x1ED.</param>
    /// <param name="modificationTime">Seconds since 1970; linuxkit uses <see cref="LinuxKitModTime"/>.</param>
    /// <exception cref="ArgumentException">The name is empty or has a NUL.</exception>
    /// <exception cref="InvalidOperationException">The archive is already finished.</exception>
    public void WriteDirectory(string name, int permissions, uint modificationTime = LinuxKitModTime) =>
        WriteEntry(new CpioEntry { Name = name, Type = CpioEntryType.Directory, Permissions = permissions, ModificationTime = modificationTime });

    /// <summary>Writes a regular file owned by root, its content read from <paramref name="data"/>'s position to its end.</summary>
    /// <param name="name">The path.</param>
    /// <param name="permissions">The permission bits.</param>
    /// <param name="data">A seekable stream with the content.</param>
    /// <param name="modificationTime">Seconds since 1970; linuxkit uses <see cref="LinuxKitModTime"/>.</param>
    /// <exception cref="ArgumentNullException"><paramref name="data"/> is null.</exception>
    /// <exception cref="ArgumentException">The name is empty or has a NUL, or the content is 4 GiB or more.</exception>
    /// <exception cref="InvalidOperationException">The archive is already finished.</exception>
    public void WriteFile(string name, int permissions, Stream data, uint modificationTime = LinuxKitModTime)
    {
        ArgumentNullException.ThrowIfNull(data);
        WriteEntry(
            new CpioEntry { Name = name, Permissions = permissions, ModificationTime = modificationTime, Size = data.Length - data.Position },
            data);
    }

    /// <summary>Writes the trailer and pads the archive to a multiple of 512 bytes; further writes are refused.</summary>
    public void Finish()
    {
        if (_finished)
        {
            return;
        }

        WriteEntry(new CpioEntry { Name = NewcHeader.TrailerName, Type = 0 });
        Pad((int)(-_offset & (BlockSize - 1)));
        _finished = true;
    }

    /// <inheritdoc />
    public void Dispose()
    {
        Finish();
        if (!_leaveOpen)
        {
            _output.Dispose();
        }
    }

    private void WriteHeaderAndName(CpioEntry entry, long size)
    {
        if (string.IsNullOrEmpty(entry.Name) || entry.Name.Contains('\0', StringComparison.Ordinal))
        {
            throw new ArgumentException("a cpio entry name must be non-empty and contain no NUL", nameof(entry));
        }

        if (size > uint.MaxValue)
        {
            throw new ArgumentException($"{entry.Name} is {size} bytes; newc sizes are 32-bit", nameof(entry));
        }

        var name = Encoding.UTF8.GetBytes(entry.Name);
        ReadOnlySpan<uint> fields =
        [
            _nextInode++,
            (uint)entry.Mode,
            entry.Uid,
            entry.Gid,
            entry.Type == CpioEntryType.Directory ? 2u : 1u,
            entry.ModificationTime,
            (uint)size,
            Device,
            DeviceMinor,
            entry.RdevMajor,
            entry.RdevMinor,
            (uint)name.Length + 1,
            0,
        ];
        Span<byte> header = stackalloc byte[NewcHeader.Size];
        NewcHeader.Magic.CopyTo(header);
        for (var i = 0; i < fields.Length; i++)
        {
            fields[i].TryFormat(header[(6 + (8 * i))..], out _, "x8", provider: null);
        }

        Write(header);
        Write(name);
        Pad(1 + NewcHeader.PaddingTo4(_offset + 1));
    }

    private void CopyExactly(Stream? data, long size, string name)
    {
        var buffer = ArrayPool<byte>.Shared.Rent((int)Math.Min(size, 1 << 20));
        try
        {
            for (var left = size; left > 0;)
            {
                var read = data!.Read(buffer, 0, (int)Math.Min(buffer.Length, left));
                if (read == 0)
                {
                    throw new EndOfStreamException($"the data of {name} ended after {size - left} of {size} bytes");
                }

                Write(buffer.AsSpan(0, read));
                left -= read;
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private void Pad(int count)
    {
        Span<byte> zeros = stackalloc byte[BlockSize];
        zeros.Clear();
        Write(zeros[..count]);
    }

    private void Write(ReadOnlySpan<byte> bytes)
    {
        _output.Write(bytes);
        _offset += bytes.Length;
    }
}
