package dev.registrypolicy.common;

import java.net.Socket;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.X509ExtendedTrustManager;

/** Trusts a chain when either manager does; host name checks stay on (both are extended). */
public final class EitherTrust extends X509ExtendedTrustManager {
  private final X509ExtendedTrustManager first;
  private final X509ExtendedTrustManager second;

  public EitherTrust(X509ExtendedTrustManager first, X509ExtendedTrustManager second) {
    this.first = first;
    this.second = second;
  }

  private interface Check {
    void run(X509ExtendedTrustManager tm) throws CertificateException;
  }

  private void either(Check check) throws CertificateException {
    try {
      check.run(first);
    } catch (CertificateException e1) {
      try {
        check.run(second);
      } catch (CertificateException e2) {
        e2.addSuppressed(e1);
        throw e2;
      }
    }
  }

  @Override
  public void checkClientTrusted(X509Certificate[] chain, String authType)
      throws CertificateException {
    either(tm -> tm.checkClientTrusted(chain, authType));
  }

  @Override
  public void checkServerTrusted(X509Certificate[] chain, String authType)
      throws CertificateException {
    either(tm -> tm.checkServerTrusted(chain, authType));
  }

  @Override
  public void checkClientTrusted(X509Certificate[] chain, String authType, Socket socket)
      throws CertificateException {
    either(tm -> tm.checkClientTrusted(chain, authType, socket));
  }

  @Override
  public void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket)
      throws CertificateException {
    either(tm -> tm.checkServerTrusted(chain, authType, socket));
  }

  @Override
  public void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine engine)
      throws CertificateException {
    either(tm -> tm.checkClientTrusted(chain, authType, engine));
  }

  @Override
  public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine engine)
      throws CertificateException {
    either(tm -> tm.checkServerTrusted(chain, authType, engine));
  }

  @Override
  public X509Certificate[] getAcceptedIssuers() {
    X509Certificate[] a = first.getAcceptedIssuers();
    X509Certificate[] b = second.getAcceptedIssuers();
    X509Certificate[] all = new X509Certificate[a.length + b.length];
    System.arraycopy(a, 0, all, 0, a.length);
    System.arraycopy(b, 0, all, a.length, b.length);
    return all;
  }
}
