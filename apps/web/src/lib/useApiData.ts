'use client';

import { useCallback, useEffect, useState } from 'react';
import { api } from './api';

/** GET a path on mount (and on reload()); the page renders loading / error / data from it. */
export function useApiData<T>(path: string) {
  const [data, setData] = useState<T | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [loading, setLoading] = useState(true);

  const reload = useCallback(async () => {
    setLoading(true);
    setError(null);
    try {
      setData(await api<T>(path));
    } catch (err) {
      setError(err);
    } finally {
      setLoading(false);
    }
  }, [path]);

  useEffect(() => {
    // eslint-disable-next-line react-hooks/set-state-in-effect -- fetching on mount is the point
    void reload();
  }, [reload]);

  return { data, setData, error, loading, reload };
}
