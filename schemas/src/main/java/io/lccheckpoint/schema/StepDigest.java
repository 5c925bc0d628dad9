package io.lccheckpoint.schema;

import java.nio.charset.StandardCharsets;
import java.util.zip.CRC32C;

/**
 * End-to-end integrity of a step (issue #11), the same on every side that writes or checks it:
 * <ul>
 *   <li>a manifest's checksum: CRC-32C of its canonical text, so a manifest whose shapes were altered (swapped
 *       dimensions restore the same bytes under a wrong shape) is refused before anything is allocated from it. The text
 *       is independent of the Avro schema's version: {@code job \n generation \n step \n resumedFrom-or-"-" \n} then per
 *       tensor {@code name \n dims joined by "," \n dtype \n chunkSize \n chunkCount \n}, then {@code codec=<codec> \n}
 *       when the tensor's {@code codec} is set (only then: older manifests keep their checksums);</li>
 *   <li>a step's content digest, on its step-complete marker: the sum (mod 2^64, so chunks may complete in any order) over
 *       its chunks of {@link #chunkContribution}, a mix of tensor, chunk and the XXH64 of the chunk's reconstruction after
 *       the step. The encoder adds what it coded; a restore recomputes it from what it rebuilt.</li>
 * </ul>
 * CRC-32C and SplitMix64's finaliser are integrity checks against loss, corruption and mix-ups, not signatures: per-job
 * ACLs keep strangers from writing a job's topics.
 */
public final class StepDigest {
    private StepDigest() {
    }

    public static long manifestChecksum(StepManifest manifest) {
        StringBuilder text = new StringBuilder();
        text.append(manifest.getJob()).append('\n').append(manifest.getGeneration()).append('\n').append(manifest.getStep()).append('\n')
                .append(manifest.getResumedFrom() == null ? "-" : manifest.getResumedFrom().toString()).append('\n');
        for (TensorInfo info : manifest.getTensors()) {
            text.append(info.getName()).append('\n');
            for (int d = 0; d < info.getShape().size(); d++) {
                text.append(d == 0 ? "" : ",").append(info.getShape().get(d));
            }
            text.append('\n').append(info.getDtype()).append('\n').append(info.getChunkSize()).append('\n').append(info.getChunkCount()).append('\n');
            if (info.getCodec() != null) {
                // only when set: manifests without per-tensor coding keep the checksum they had before the field
                text.append("codec=").append(info.getCodec()).append('\n');
            }
        }
        CRC32C crc = new CRC32C();
        crc.update(text.toString().getBytes(StandardCharsets.UTF_8));
        return crc.getValue();
    }

    /** The manifest with its checksum set (producers). */
    public static StepManifest sealed(StepManifest manifest) {
        manifest.setChecksum(manifestChecksum(manifest));
        return manifest;
    }

    /** Null if the manifest carries no checksum or a matching one, else why not. */
    public static String checkManifest(StepManifest manifest) {
        if (manifest.getChecksum() == null) {
            return null;
        }
        long expected = manifestChecksum(manifest);
        return expected == manifest.getChecksum() ? null
                : String.format("the manifest of step %d fails its checksum (%08x, its content gives %08x): it was altered or corrupted",
                        manifest.getStep(), manifest.getChecksum(), expected);
    }

    /** One chunk's share of a step's digest: its reconstruction's XXH64 mixed with where it belongs. */
    public static long chunkContribution(String tensor, int chunk, long stateChecksum) {
        CRC32C crc = new CRC32C();
        crc.update(tensor.getBytes(StandardCharsets.UTF_8));
        return mix(stateChecksum ^ mix((crc.getValue() << 32) | (chunk & 0xFFFFFFFFL)));
    }

    /** SplitMix64's finaliser. */
    private static long mix(long z) {
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }
}
