package io.lccheckpoint.eval;

import java.io.DataInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.zip.GZIPInputStream;

/**
 * Fashion-MNIST from Debian's {@code dataset-fashion-mnist} package (its gzipped IDX files; {@code dpkg -L
 * dataset-fashion-mnist} lists them), read straight from the IDX format: big-endian magic, dimensions, then bytes.
 */
public record FashionMnist(float[][] images, int[] labels) {
    public static final Path DEFAULT_DIRECTORY = Path.of("/usr/share/datasets/fashion-mnist");
    public static final int PIXELS = 28 * 28;
    public static final int CLASSES = 10;

    public static boolean available(Path directory) {
        return Files.isReadable(directory.resolve("train-images-idx3-ubyte.gz")) && Files.isReadable(directory.resolve("train-labels-idx1-ubyte.gz"));
    }

    /** The training set (test = false) or the test set; a clear error naming the package when it is absent. */
    public static FashionMnist load(Path directory, boolean test) throws IOException {
        String prefix = test ? "t10k" : "train";
        Path images = directory.resolve(prefix + "-images-idx3-ubyte.gz");
        Path labels = directory.resolve(prefix + "-labels-idx1-ubyte.gz");
        if (!Files.isReadable(images) || !Files.isReadable(labels)) {
            throw new IOException("Fashion-MNIST not found in " + directory + ": install Debian's package with"
                    + " 'apt-get install -y dataset-fashion-mnist' (dpkg -L dataset-fashion-mnist lists its files)");
        }
        return new FashionMnist(readImages(images), readLabels(labels));
    }

    private static float[][] readImages(Path file) throws IOException {
        try (DataInputStream in = open(file)) {
            int magic = in.readInt();
            if (magic != 0x0803) {
                throw new IOException(file + ": not an IDX image file (magic " + Integer.toHexString(magic) + ")");
            }
            int count = in.readInt();
            int rows = in.readInt();
            int columns = in.readInt();
            if (rows * columns != PIXELS) {
                throw new IOException(file + ": images are " + rows + "x" + columns + ", expected 28x28");
            }
            byte[] pixels = new byte[PIXELS];
            float[][] images = new float[count][PIXELS];
            for (int i = 0; i < count; i++) {
                in.readFully(pixels);
                for (int p = 0; p < PIXELS; p++) {
                    images[i][p] = (pixels[p] & 0xFF) / 255f;
                }
            }
            return images;
        }
    }

    private static int[] readLabels(Path file) throws IOException {
        try (DataInputStream in = open(file)) {
            int magic = in.readInt();
            if (magic != 0x0801) {
                throw new IOException(file + ": not an IDX label file (magic " + Integer.toHexString(magic) + ")");
            }
            int count = in.readInt();
            int[] labels = new int[count];
            for (int i = 0; i < count; i++) {
                labels[i] = in.readUnsignedByte();
            }
            return labels;
        }
    }

    private static DataInputStream open(Path file) throws IOException {
        InputStream raw = Files.newInputStream(file);
        return new DataInputStream(new java.io.BufferedInputStream(new GZIPInputStream(raw, 1 << 16), 1 << 16));
    }

    /** A synthetic stand-in when the package is absent: 10 Gaussian class prototypes plus noise, deterministic. */
    public static FashionMnist synthetic(int count, long seed) {
        java.util.SplittableRandom random = new java.util.SplittableRandom(seed);
        float[][] prototypes = new float[CLASSES][PIXELS];
        for (float[] prototype : prototypes) {
            for (int p = 0; p < PIXELS; p++) {
                prototype[p] = (float) random.nextDouble();
            }
        }
        float[][] images = new float[count][PIXELS];
        int[] labels = new int[count];
        for (int i = 0; i < count; i++) {
            labels[i] = random.nextInt(CLASSES);
            for (int p = 0; p < PIXELS; p++) {
                images[i][p] = (float) Math.min(1, Math.max(0, prototypes[labels[i]][p] + 0.35 * random.nextGaussian()));
            }
        }
        return new FashionMnist(images, labels);
    }
}
